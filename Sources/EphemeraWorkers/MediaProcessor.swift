import EphemeraCore
import EphemeraMedia
import EphemeraStore
import Foundation
import Logging

/// Turns a recorded upload into live segments: the `processUpload` job. Each segment is its own idempotent
/// step (already-live segments are skipped), so a crash at any point re-runs only what was not finished, and
/// nothing is visible until its media is durably stored.
public struct MediaProcessor: Sendable {
    let segments: SQLSegmentStore
    /// Where uploads wait: this node's scratch, or the shared inbox in the object store.
    let incoming: any UploadInbox
    let media: any MediaStore
    let keyring: any Keyring
    let transcoder: any Transcoder
    let logger: Logger
    /// Told whenever a segment leaves `processing` (live or failed), for the requests waiting on it.
    let processed: ChangeSignal?

    public init(segments: SQLSegmentStore, incoming: any UploadInbox, media: any MediaStore, keyring: any Keyring,
                transcoder: any Transcoder, logger: Logger, processed: ChangeSignal? = nil) {
        self.segments = segments
        self.incoming = incoming
        self.media = media
        self.keyring = keyring
        self.transcoder = transcoder
        self.logger = logger
        self.processed = processed
    }

    /// Processes every still-processing segment of the upload, then drops the upload and its file.
    public func process(uploadID: String) async throws {
        guard let upload = try await segments.upload(id: uploadID) else { return }
        let plan = try JSONDecoder().decode(MediaPlan.self, from: Data(upload.plan.utf8))
        guard let source = try await incoming.fetch(incoming: upload.sourceFile) else {
            try await fail(uploadID: uploadID, reason: "The upload was lost before it could be processed. Post it again.")
            return
        }
        let soundName = UploadInboxNames.sound(upload.sourceFile)
        let sound = try await incoming.fetch(incoming: soundName) ?? incoming.incomingPath(soundName)
        for segment in try await segments.segments(uploadID: uploadID) where segment.state == .processing {
            try await media.removeTemporaryFiles(segmentID: segment.id)
            let result: ProcessedMedia
            var files: [Rendition: String] = [:]
            do {
                // The transcoder writes plaintext into the scratch area; `store` encrypts it into place.
                switch plan {
                case .photo(let photo):
                    files[.photo] = media.scratchPath("photo.jpg")
                    result = try await transcoder.makePhoto(source: source, plan: photo, photoOut: files[.photo]!,
                                                            textFile: media.scratchPath("text.txt"))
                case .video(let video):
                    guard video.pieces.indices.contains(segment.position) else {
                        throw EphemeraError(.internal, "bad_plan", "segment position outside the plan")
                    }
                    files = [.video: media.scratchPath("video.mp4"), .poster: media.scratchPath("poster.jpg")]
                    result = try await transcoder.makeVideo(
                        source: source, sound: sound,
                        plan: video, piece: video.pieces[segment.position],
                        videoOut: files[.video]!, posterOut: files[.poster]!, textFile: media.scratchPath("text.txt"))
                }
                try await segments.database.checkFence()
                try await media.store(segmentID: segment.id, files: files)
            } catch MediaStoreRefusal.noKey {
                // Purged while it was being processed: its key is gone and nothing was stored. (A segment still
                // processing without a key can never be stored: it fails.)
                for path in files.values { try? FileManager.default.removeItem(atPath: path) }
                try await segments.markFailed(id: segment.id, reason: "Processing failed. Try posting the file again.")
                processed?.notify()
                continue
            } catch let lost as JobFenceLost {
                // Another node holds the job now and may be writing this segment's objects: leave the store alone.
                for path in files.values { try? FileManager.default.removeItem(atPath: path) }
                throw lost
            } catch {
                for path in files.values { try? FileManager.default.removeItem(atPath: path) }
                try? await media.removeTemporaryFiles(segmentID: segment.id)
                throw error
            }
            let live = try await segments.markProcessed(
                id: segment.id, durationMilliseconds: result.durationMilliseconds, width: result.width,
                height: result.height, mediaTag: IDs.make())
            processed?.notify()
            if live {
                logger.info("Segment is live", metadata: ["segment": "\(segment.id)"])
            } else {
                // Purged while it was being stored (checked after the write): what was stored must not outlive it.
                try await media.removeSegment(segment.id)
                try await keyring.destroyKey(for: segment.id)
            }
        }
        try await finish(upload)
    }

    /// Gives up on the upload: every segment still processing becomes `failed` with `reason`, and its key,
    /// the upload's file and any partial output are removed.
    public func fail(uploadID: String, reason: String) async throws {
        guard let upload = try await segments.upload(id: uploadID) else { return }
        for segment in try await segments.segments(uploadID: uploadID) where segment.state == .processing {
            try await media.removeSegment(segment.id)
            try await keyring.destroyKey(for: segment.id)
            try await segments.markFailed(id: segment.id, reason: reason)
        }
        processed?.notify()
        try await finish(upload)
    }

    private func finish(_ upload: UploadRecord) async throws {
        try await segments.deleteUpload(id: upload.id)
        try await incoming.removeIncoming(upload.sourceFile)
        try await incoming.removeIncoming(UploadInboxNames.sound(upload.sourceFile))
    }
}
