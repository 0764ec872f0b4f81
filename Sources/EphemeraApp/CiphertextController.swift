import EphemeraCore
import EphemeraUseCases
import Foundation
import HTTPTypes
import Hummingbird
import EphemeraMedia
import NIOCore

/// `GET /ciphertext/{segment}/{token}/{rendition}`: a rendition's ciphertext (format `eph1`) as plain immutable bytes,
/// for clients that decrypt (API.md, "Media for clients that decrypt"). No session, no database, no keyring: the
/// link itself, signed by this server (`MediaAccessIssuer`), says what the response needs, and only someone given
/// the segment's key can read what it serves. `Range` (206), a strong `ETag` (304 on `If-None-Match`), and
/// `Cache-Control: public, max-age` never past the segment's `expiresAt`, `immutable`. Used with the file store;
/// on an object store the links are presigned URLs of the store itself.
struct CiphertextController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.get("/ciphertext/:id/:token/:rendition", use: ciphertext)
        router.head("/ciphertext/:id/:token/:rendition", use: ciphertext)
    }

    static let notFound = EphemeraError(.notFound, "not_found",
                                        "This media link is not valid or has expired; fetch the segment again for a fresh one.")

    /// The route's template, as the router names it (metrics and logs).
    static let route = "/ciphertext/{id}/{token}/{rendition}"

    /// A range up to this long is read in one piece (the fast path answers only those); a longer one a chunk at a
    /// time, the next read once the previous one is written.
    static let chunk = 256 * 1024

    /// A ciphertext request resolved: the link its path carries and the headers every answer to it has.
    struct Resolved {
        let link: CiphertextLink
        let path: String
        let headers: HTTPFields
    }

    /// The link in the path's three parts and the file it names, or nil when the link is not one this server made,
    /// has expired, or names no file of this store.
    func resolve(id: String, token: String, rendition: String) -> Resolved? {
        let access = services.reading.mediaAccess
        guard let link = access.verify(segmentID: id, token: token, rendition: rendition), let path = access.file(of: link)
        else { return nil }
        let maxAge = MediaRules.ciphertextCacheLifetime(expiresAt: link.expiresAt, now: services.clock.now())
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.acceptRanges] = "bytes"
        headers[.eTag] = link.etag
        headers[.cacheControl] = "public, max-age=\(maxAge.components.seconds), immutable"
        headers[.accessControlAllowOrigin] = "*"
        return Resolved(link: link, path: path, headers: headers)
    }

    /// Whether `If-None-Match` names this ciphertext (a 304).
    static func notModified(_ request: HTTPFields, etag: String) -> Bool {
        request[.ifNoneMatch].map { match in headerListItems(match).contains { ["*", etag].contains($0) } } ?? false
    }

    /// The range to read for `request` from a file of `size` bytes: nil for no body (a HEAD, a 304, or a range
    /// that cannot be satisfied).
    static func chooseRange(_ request: HTTPRequest, etag: String, size: Int64) -> ClosedRange<Int64>? {
        guard request.method == .get, !notModified(request.headerFields, etag: etag) else { return nil }
        return MediaController.chooseRange(request.headerFields[.range], ifRange: request.headerFields[.ifRange],
                                           etag: etag, size: size)
    }

    /// The head of the answer to `request` for the file `opened`, whose range was picked by `chooseRange`, and
    /// whether it has a body.
    static func head(for request: HTTPRequest, _ resolved: Resolved, opened: FileRanges.Opened) -> (HTTPResponse, body: Bool) {
        var headers = resolved.headers
        if notModified(request.headerFields, etag: resolved.link.etag) {
            return (HTTPResponse(status: .notModified, headerFields: headers), false)
        }
        let size = opened.size
        // The range read was chosen by the same rules: the headers are not parsed a second time.
        guard let (status, range) = MediaController.selectRange(request.headerFields, etag: resolved.link.etag, size: size,
                                                                chosen: opened.range, headers: &headers) else {
            return (HTTPResponse(status: .rangeNotSatisfiable, headerFields: headers), false)
        }
        let length = size == 0 ? 0 : range.upperBound - range.lowerBound + 1
        headers[.contentLength] = String(length)
        return (HTTPResponse(status: status, headerFields: headers), request.method == .get && size > 0)
    }

    @Sendable func ciphertext(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let resolved = resolve(id: try context.parameters.require("id"), token: try context.parameters.require("token"),
                                     rendition: try context.parameters.require("rendition"))
        else { throw Self.notFound }
        // Opening the file reads, for a GET, the range (or its first chunk), chosen there from the file's size;
        // the headers are set from that same choice.
        let (head, etag) = (request.head, resolved.link.etag)
        // Purged (or never stored): the file is gone, and so is the key that could read any copy of it.
        guard let opened = try await FileRanges.open(resolved.path, chunk: Self.chunk, choose: { size in
            Self.chooseRange(head, etag: etag, size: size)
        }) else { throw Self.notFound }
        let (response, hasBody) = Self.head(for: head, resolved, opened: opened)
        guard hasBody else { return Response(status: response.status, headers: response.headerFields) }
        guard let rest = opened.rest else {
            return Response(status: response.status, headers: response.headerFields, body: ResponseBody(byteBuffer: opened.first))
        }
        // A large range: one chunk in memory at a time, the next read once the previous one is written.
        let first = opened.first
        let length = opened.range.map { Int($0.upperBound - $0.lowerBound + 1) } ?? 0
        return Response(status: response.status, headers: response.headerFields, body: ResponseBody(contentLength: length) { writer in
            defer { rest.close() }
            try await writer.write(first)
            while let chunk = try await rest.next() { try await writer.write(chunk) }
            try await writer.finish(nil)
        })
    }
}

extension HTTPField.Name {
    static let accessControlAllowOrigin = Self("Access-Control-Allow-Origin")!
}
