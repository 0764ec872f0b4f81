import EphemeraCore
import EphemeraMedia
import EphemeraStore
import Foundation
import Logging

/// Turns a recorded upload into live segments: the `process_upload` job. Each segment is its own idempotent
/// step (already-live segments are skipped), so a crash at any point re-runs only what was not finished, and
/// nothing is visible until its media is durably stored.
public struct MediaProcessor: Sendable {
    public static let jobKind = "process_upload"

    let segments: SQLSegmentStore
    let mediaStore: FileMediaStore
    let ffmpeg: FFmpegMediaProcessor
    let logger: Logger

    public init(segments: SQLSegmentStore, mediaStore: FileMediaStore, ffmpeg: FFmpegMediaProcessor, logger: Logger) {
        self.segments = segments
        self.mediaStore = mediaStore
        self.ffmpeg = ffmpeg
        self.logger = logger
    }

    /// Processes every still-processing segment of the upload, then drops the upload and its file.
    public func process(uploadID: String) async throws {
        guard let upload = try await segments.upload(id: uploadID) else { return }
        let plan = try JSONDecoder().decode(MediaPlan.self, from: Data(upload.plan.utf8))
        let source = mediaStore.incomingPath(upload.sourceFile)
        for segment in try await segments.segments(uploadID: uploadID) where segment.state == .processing {
            mediaStore.removeTemporaryFiles(segmentID: segment.id)
            let result: ProcessedMedia
            var files: [Rendition: String] = [:]
            do {
                switch plan {
                case .photo(let photo):
                    let out = try mediaStore.temporaryPath(segmentID: segment.id, rendition: .photo)
                    files[.photo] = out
                    result = try await ffmpeg.makePhoto(source: source, plan: photo, photoOut: out)
                case .video(let video):
                    guard video.pieces.indices.contains(segment.position) else {
                        throw EphemeraError(.internal, "bad_plan", "segment position outside the plan")
                    }
                    let videoOut = try mediaStore.temporaryPath(segmentID: segment.id, rendition: .video)
                    let posterOut = try mediaStore.temporaryPath(segmentID: segment.id, rendition: .poster)
                    files = [.video: videoOut, .poster: posterOut]
                    result = try await ffmpeg.makeVideo(
                        source: source, plan: video, piece: video.pieces[segment.position],
                        videoOut: videoOut, posterOut: posterOut)
                }
                try mediaStore.commit(segmentID: segment.id, files: files)
            } catch {
                mediaStore.removeTemporaryFiles(segmentID: segment.id)
                throw error
            }
            try await segments.markProcessed(
                id: segment.id, durationMilliseconds: result.durationMilliseconds, width: result.width,
                height: result.height, mediaTag: IDs.make())
            logger.info("Segment is live", metadata: ["segment": "\(segment.id)"])
        }
        try await finish(upload)
    }

    /// Gives up on the upload: every segment still processing becomes `failed` with `reason`, and the
    /// upload's file and any partial output are removed.
    public func fail(uploadID: String, reason: String) async throws {
        guard let upload = try await segments.upload(id: uploadID) else { return }
        for segment in try await segments.segments(uploadID: uploadID) where segment.state == .processing {
            try? mediaStore.deleteSegment(segment.id)
            try await segments.markFailed(id: segment.id, reason: reason)
        }
        try await finish(upload)
    }

    private func finish(_ upload: UploadRecord) async throws {
        try await segments.deleteUpload(id: upload.id)
        mediaStore.removeIncoming(upload.sourceFile)
    }
}
