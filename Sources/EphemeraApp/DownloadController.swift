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
/// The watermarked copy is made once, by a `renderDownload` job in the media lane (one encode at a time, however
/// many first downloads arrive together), and kept encrypted beside the segment's other blobs so it is purged
/// with them. A request for a copy not made yet queues the job (once) and waits for it up to
/// `downloadWait`; if it is not ready by then the answer is **202** with `Retry-After` and the client asks again.
struct DownloadController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.get("/api/v1/stories/:id/download", use: download)
    }

    struct PreparingBody: Encodable {
        var state = "preparing"
        var retryAfter: Int
    }

    @Sendable func download(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let original = try parseFlag(request.uri.queryParameters["original"].map(String.init), name: "original")
        // The author downloads their own live or archived segments; anyone else needs it visible.
        var segment = try await services.reading.readableSegment(id, by: context.account)
        let isAuthor = context.account?.id == segment.authorID
        guard !isAuthor || segment.state.isDownloadableByAuthor else {
            throw EphemeraError.conflict("not_downloadable", "Only a live or archived segment can be downloaded.")
        }
        guard let author = try await services.accounts.account(id: segment.authorID) else { throw EphemeraError.storyNotFound }
        if original && !isAuthor { throw EphemeraError.notTheAuthor }
        if !isAuthor && !author.settings.allowDownloads {
            throw EphemeraError(.forbidden, "downloads_disabled", "@\(author.handle) does not allow downloads of their stories.")
        }

        let (watermarked, source) = Rendition.download(of: segment.kind)
        let rendition = original ? source : watermarked
        if !original, try await !services.media.renditions(segmentID: segment.id).contains(watermarked) {
            guard try await prepare(segment) else {
                let retry = 2
                var response = try jsonResponse(PreparingBody(retryAfter: retry), status: .accepted)
                response.headers[.retryAfter] = String(retry)
                return response
            }
            // It may have been deleted while the copy was being made.
            segment = try await services.reading.readableSegment(id, by: context.account)
        }
        guard let (handle, header, key) = try await services.mediaStore.open(segmentID: segment.id, rendition: rendition) else {
            throw EphemeraError.mediaNotFound
        }
        let size = header.plaintextLength
        let etag = "\"\(segment.mediaTag ?? segment.id)-\(rendition.rawValue)\""
        let ext = segment.kind == .video ? "mp4" : "jpg"
        var headers = HTTPFields()
        headers[.contentType] = rendition.contentType
        headers[.contentDisposition] = "attachment; filename=\"ephemera-\(author.handle)-\(segment.id).\(ext)\""
        headers[.cacheControl] = "private, no-store"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.acceptRanges] = "bytes"
        headers[.eTag] = etag

        // A Range request continues an interrupted download (the CLI resumes a partial file this way).
        guard let (status, range) = MediaController.selectRange(request, etag: etag, size: size, headers: &headers) else {
            try? handle.close()
            return Response(status: .rangeNotSatisfiable, headers: headers)
        }
        // One download is counted once, not once per resumed piece.
        if range.lowerBound == 0 { try await services.segments.countDownload(segmentID: segment.id) }
        headers[.contentLength] = String(size == 0 ? 0 : range.upperBound - range.lowerBound + 1)
        guard size > 0 else {
            try? handle.close()
            return Response(status: .ok, headers: headers)
        }
        return Response(status: status, headers: headers, body: MediaController.decryptedBody(
            handle: handle, header: header, key: key, range: range))
    }

    /// Queues the job that makes the watermarked copy (unless one is already queued or running) and waits up to
    /// `downloadWait` for it; returns whether it finished in time.
    func prepare(_ segment: Segment) async throws -> Bool {
        let jobID = try await services.jobs.enqueueUnlessPending(.renderDownload(segmentID: segment.id),
                                                                 runAt: services.clock.now())
        services.jobSignal.notify()
        let deadline = ContinuousClock.now + services.configuration.downloadWait
        while true {
            switch try await services.jobs.state(jobID: jobID) {
            case .done?, nil:
                return true
            case .failed?:
                throw EphemeraError(.unavailable, "download_unavailable",
                                    "The download could not be prepared. Try again in a minute.")
            case .queued?, .running?:
                guard ContinuousClock.now < deadline else { return false }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}
