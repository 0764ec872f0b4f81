import EphemeraCore
import EphemeraUseCases
import Foundation
import HTTPTypes
import Hummingbird
import NIOPosix

/// `GET /ciphertext/{segment}/{token}/{rendition}`: a rendition's ciphertext (format `eph1`) as plain immutable bytes,
/// for clients that decrypt (API.md, "Media for clients that decrypt"). No session, no database, no keyring: the
/// link itself, signed by this server (`MediaAccessIssuer`), says what the response needs, and only someone given
/// the segment's key can read what it serves. `Range` (206), a strong `ETag` (304 on `If-None-Match`), and
/// `Cache-Control: public, max-age` never past the segment's `expiresAt`, `immutable`. Used with the file store;
/// on an object store the links are presigned URLs of the store itself.
struct CiphertextController {
    let services: AppServices
    let files = FileIO(threadPool: .singleton)

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
        // Purged (or never stored): the file is gone, and so is the key that could read any copy of it.
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.int64Value
        else { throw Self.notFound }

        let maxAge = MediaRules.ciphertextCacheLifetime(expiresAt: link.expiresAt, now: services.clock.now())
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.acceptRanges] = "bytes"
        headers[.eTag] = link.etag
        headers[.cacheControl] = "public, max-age=\(maxAge.components.seconds), immutable"
        headers[.accessControlAllowOrigin] = "*"
        if let match = request.headers[.ifNoneMatch],
           match.split(separator: ",").contains(where: { ["*", link.etag].contains($0.trimmingCharacters(in: .whitespaces)) }) {
            return Response(status: .notModified, headers: headers)
        }
        guard let (status, range) = MediaController.selectRange(request, etag: link.etag, size: size, headers: &headers) else {
            return Response(status: .rangeNotSatisfiable, headers: headers)
        }
        let length = size == 0 ? 0 : range.upperBound - range.lowerBound + 1
        headers[.contentLength] = String(length)
        if request.method == .head || size == 0 { return Response(status: status, headers: headers) }
        let body = try await files.loadFile(path: path, range: Int(range.lowerBound)...Int(range.upperBound), context: context)
        return Response(status: status, headers: headers, body: body)
    }
}

extension HTTPField.Name {
    static let accessControlAllowOrigin = Self("Access-Control-Allow-Origin")!
}
