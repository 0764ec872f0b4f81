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
                // ffmpeg writes plaintext into the scratch area; `store` encrypts it into the data folder.
                switch plan {
                case .photo(let photo):
                    files[.photo] = mediaStore.workPath("photo.jpg")
                    result = try await ffmpeg.makePhoto(source: source, plan: photo, photoOut: files[.photo]!,
                                                        textFile: mediaStore.workPath("text.txt"))
                case .video(let video):
                    guard video.pieces.indices.contains(segment.position) else {
                        throw EphemeraError(.internal, "bad_plan", "segment position outside the plan")
                    }
                    files = [.video: mediaStore.workPath("video.mp4"), .poster: mediaStore.workPath("poster.jpg")]
                    result = try await ffmpeg.makeVideo(
                        source: source, plan: video, piece: video.pieces[segment.position],
                        videoOut: files[.video]!, posterOut: files[.poster]!, textFile: mediaStore.workPath("text.txt"))
                }
                try mediaStore.store(segmentID: segment.id, files: files)
            } catch {
                for path in files.values { try? FileManager.default.removeItem(atPath: path) }
                mediaStore.removeTemporaryFiles(segmentID: segment.id)
                throw error
            }
            let live = try await segments.markProcessed(
                id: segment.id, durationMilliseconds: result.durationMilliseconds, width: result.width,
                height: result.height, mediaTag: IDs.make())
            if live {
                logger.info("Segment is live", metadata: ["segment": "\(segment.id)"])
            } else {
                // Purged while it was being processed: what was just stored must not outlive it.
                try mediaStore.deleteSegment(segment.id)
                try mediaStore.keyring.destroyKey(for: segment.id)
            }
        }
        try await finish(upload)
    }

    /// Gives up on the upload: every segment still processing becomes `failed` with `reason`, and the
    /// upload's file and any partial output are removed.
    public func fail(uploadID: String, reason: String) async throws {
        guard let upload = try await segments.upload(id: uploadID) else { return }
        for segment in try await segments.segments(uploadID: uploadID) where segment.state == .processing {
            try? mediaStore.deleteSegment(segment.id)
            try? mediaStore.keyring.destroyKey(for: segment.id)
            try await segments.markFailed(id: segment.id, reason: reason)
        }
        try await finish(upload)
    }

    private func finish(_ upload: UploadRecord) async throws {
        try await segments.deleteUpload(id: upload.id)
        mediaStore.removeIncoming(upload.sourceFile)
        mediaStore.removeIncoming(upload.sourceFile + FileMediaStore.soundSuffix)
    }
}
