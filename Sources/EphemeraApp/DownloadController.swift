import EphemeraCore
import EphemeraMedia
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// `GET /api/v1/stories/{id}/download`: the segment with a visible `@handle · Ephemera` watermark, made by
/// ffmpeg on the first download and kept (encrypted, in the segment's folder, so it is purged with it); the
/// author gets the unmarked rendition with `?original=true`. Counted; refused with 403 `downloads_disabled`
/// when the author turned downloads off.
struct DownloadController {
    let services: AppServices
    let stories: StoriesController
    let ffmpeg: FFmpegMediaProcessor

    func register(on router: Router<AppRequestContext>) {
        router.get("/api/v1/stories/:id/download", use: download)
    }

    @Sendable func download(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let original = try DeletionController.flag(request.uri.queryParameters["original"].map(String.init), name: "original")
        // The author downloads their own live or archived segments; anyone else needs it visible.
        let segment = try await stories.readableSegment(id, context: context)
        let isAuthor = context.account?.id == segment.authorID
        guard !isAuthor || [.live, .expired, .archived].contains(segment.state) else {
            throw EphemeraError.conflict("not_downloadable", "Only a live or archived segment can be downloaded.")
        }
        guard let author = try await services.accounts.account(id: segment.authorID) else { throw EphemeraError.storyNotFound }
        if original && !isAuthor { throw EphemeraError.notTheAuthor }
        if !isAuthor && !author.settings.allowDownloads {
            throw EphemeraError(.forbidden, "downloads_disabled", "@\(author.handle) does not allow downloads of their stories.")
        }

        let (watermarked, source) = Rendition.download(of: segment.kind)
        let rendition = original ? source : watermarked
        if !original, !services.mediaStore.storedRenditions(segmentID: segment.id).contains(watermarked.rawValue) {
            try await makeWatermarked(segment, author: author, rendition: watermarked, from: source)
        }
        guard let (handle, header, key) = try services.mediaStore.open(segmentID: segment.id, rendition: rendition) else {
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

    /// Decrypts our rendition into the scratch area, burns the watermark in, and stores the result encrypted.
    func makeWatermarked(_ segment: Segment, author: Account, rendition: Rendition, from source: Rendition) async throws {
        let store = services.mediaStore
        guard let plain = try await store.decryptedData(segmentID: segment.id, rendition: source) else {
            throw EphemeraError.mediaNotFound
        }
        let input = store.workPath("download-source")
        let output = store.workPath(rendition.rawValue)
        defer {
            try? FileManager.default.removeItem(atPath: input)
            try? FileManager.default.removeItem(atPath: output)
        }
        try plain.write(to: URL(fileURLWithPath: input))
        try await ffmpeg.watermark(source: input, kind: segment.kind, text: "@\(author.handle) · Ephemera",
                                   textFile: store.workPath("watermark.txt"), output: output)
        try store.store(segmentID: segment.id, files: [rendition: output])
    }
}
