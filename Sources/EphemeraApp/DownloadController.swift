import EphemeraCore
import EphemeraUseCases
import EphemeraMedia
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// `GET /api/v1/stories/{id}/download`: the segment with a visible `@handle · Ephemera` watermark; the author
/// gets the unmarked rendition with `?original=true`. Counted; refused with 403 `downloads_disabled` when the
/// author turned downloads off.
///
/// What is sent is decided by the `Downloading` use case: while the watermarked copy is being made the answer is
/// **202** with `Retry-After` and the client asks again.
///
/// With `?encrypted=true` (the CLI) the answer is JSON instead: the segment's key and a link to the ciphertext of
/// the same rendition, which the client fetches (resuming with `Range`) and decrypts itself; `&resume=true` when
/// it continues an interrupted download, which is then not counted again.
struct DownloadController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.get("/api/v1/stories/:id/download", use: download)
    }

    struct PreparingBody: Encodable {
        var state = "preparing"
        var retryAfter: Int
    }

    struct EncryptedDownloadBody: Encodable {
        var mediaKey: String
        var url: String
        var filename: String
        var contentType: String
    }

    /// 202: the watermarked copy is being made; ask again after `Retry-After`.
    static func preparing(_ retry: Int) throws -> Response {
        var response = try jsonResponse(PreparingBody(retryAfter: retry), status: .accepted)
        response.headers[.retryAfter] = String(retry)
        return response
    }

    @Sendable func download(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let original = try parseFlag(request.uri.queryParameters["original"].map(String.init), name: "original")
        if try parseFlag(request.uri.queryParameters["encrypted"].map(String.init), name: "encrypted") {
            let resuming = try parseFlag(request.uri.queryParameters["resume"].map(String.init), name: "resume")
            switch try await services.downloading.encryptedDownload(segmentID: id, by: context.account, original: original,
                                                                     resuming: resuming) {
            case .preparing(let retry):
                return try Self.preparing(retry)
            case .ready(let download):
                var response = try jsonResponse(EncryptedDownloadBody(
                    mediaKey: download.access.keyText,
                    url: download.link.hasPrefix("/") ? services.publicURL + download.link : download.link,
                    filename: download.filename, contentType: download.rendition.contentType))
                response.headers[.cacheControl] = "private, no-store"
                return response
            }
        }
        let segment: Segment, author: Account, rendition: Rendition
        switch try await services.downloading.download(segmentID: id, by: context.account, original: original) {
        case .preparing(let retry):
            return try Self.preparing(retry)
        case .ready(let ready, let owner, let which):
            (segment, author, rendition) = (ready, owner, which)
        }
        guard let blob = try await services.media.open(segmentID: segment.id, rendition: rendition) else {
            throw EphemeraError.mediaNotFound
        }
        let size = blob.plaintextLength
        let etag = "\"\(segment.mediaTag ?? segment.id)-\(rendition.rawValue)\""
        var headers = HTTPFields()
        headers[.contentType] = rendition.contentType
        headers[.contentDisposition] = "attachment; filename=\"\(DownloadRules.filename(of: segment, author: author))\""
        headers[.cacheControl] = "private, no-store"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.acceptRanges] = "bytes"
        headers[.eTag] = etag

        // A Range request continues an interrupted download (the CLI resumes a partial file this way).
        guard let (status, range) = MediaController.selectRange(request, etag: etag, size: size, headers: &headers) else {
            blob.close()
            return Response(status: .rangeNotSatisfiable, headers: headers)
        }
        // One download is counted once, not once per resumed piece.
        if range.lowerBound == 0 { try await services.downloading.countDownload(of: segment, by: context.account) }
        headers[.contentLength] = String(size == 0 ? 0 : range.upperBound - range.lowerBound + 1)
        guard size > 0 else {
            blob.close()
            return Response(status: .ok, headers: headers)
        }
        return Response(status: status, headers: headers, body: MediaController.decryptedBody(blob, range: range))
    }
}
