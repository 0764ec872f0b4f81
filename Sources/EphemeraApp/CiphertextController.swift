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

    @Sendable func ciphertext(_ request: Request, context: AppRequestContext) async throws -> Response {
        let access = services.reading.mediaAccess
        guard let link = access.verify(segmentID: try context.parameters.require("id"),
                                       token: try context.parameters.require("token"),
                                       rendition: try context.parameters.require("rendition")),
              let path = access.file(of: link)
        else { throw Self.notFound }
        let maxAge = MediaRules.ciphertextCacheLifetime(expiresAt: link.expiresAt, now: services.clock.now())
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.acceptRanges] = "bytes"
        headers[.eTag] = link.etag
        headers[.cacheControl] = "public, max-age=\(maxAge.components.seconds), immutable"
        headers[.accessControlAllowOrigin] = "*"
        let notModified = request.headers[.ifNoneMatch].map { match in
            headerListItems(match).contains { ["*", link.etag].contains($0) }
        } ?? false
        // Opening the file reads, for a GET, the range (or its first chunk), chosen there from the file's size;
        // the headers below are set from that same choice.
        let wantsBody = request.method == .get && !notModified
        let (rangeHeader, ifRange, etag) = (request.headers[.range], request.headers[.ifRange], link.etag)
        // Purged (or never stored): the file is gone, and so is the key that could read any copy of it.
        guard let opened = try await FileRanges.open(path, choose: { size in
            wantsBody ? MediaController.chooseRange(rangeHeader, ifRange: ifRange, etag: etag, size: size) : nil
        }) else { throw Self.notFound }

        if notModified { return Response(status: .notModified, headers: headers) }
        let size = opened.size
        // The range read was chosen by the same rules: the headers are not parsed a second time.
        guard let (status, range) = MediaController.selectRange(request, etag: link.etag, size: size, chosen: opened.range,
                                                                headers: &headers) else {
            return Response(status: .rangeNotSatisfiable, headers: headers)
        }
        let length = size == 0 ? 0 : range.upperBound - range.lowerBound + 1
        headers[.contentLength] = String(length)
        guard wantsBody, size > 0 else { return Response(status: status, headers: headers) }
        guard let rest = opened.rest else {
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: opened.first))
        }
        // A large range: one chunk in memory at a time, the next read once the previous one is written.
        let first = opened.first
        return Response(status: status, headers: headers, body: ResponseBody(contentLength: Int(length)) { writer in
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
