import EphemeraCore
import EphemeraStore
import Foundation
import Logging

/// Makes the watermarked download rendition of a segment: the `renderDownload` job, in the media lane (so
/// at most one encode runs at a time however many people download at once). It decrypts our own rendition
/// chunk by chunk into the scratch area, burns the `@handle` mark in, and stores the result encrypted with
/// the segment's existing key. A segment being purged has no key, so nothing is stored for it; one whose purge
/// began while the mark was being stored has the new blob removed again (checked after the write).
public struct DownloadRenderer: Sendable {
    let segments: SQLSegmentStore
    let accounts: SQLAccountStore
    let media: any MediaStore
    let transcoder: any Transcoder
    let logger: Logger

    public init(segments: SQLSegmentStore, accounts: SQLAccountStore, media: any MediaStore, transcoder: any Transcoder,
                logger: Logger) {
        self.segments = segments
        self.accounts = accounts
        self.media = media
        self.transcoder = transcoder
        self.logger = logger
    }

    public func render(segmentID: String) async throws {
        guard let segment = try await segments.segment(id: segmentID), segment.state.hasMedia,
              let author = try await accounts.account(id: segment.authorID) else { return }
        let (download, source) = Rendition.download(of: segment.kind)
        guard try await !media.renditions(segmentID: segmentID).contains(download) else { return }
        let input = media.scratchPath("download-source")
        let output = media.scratchPath(download.rawValue)
        defer {
            try? FileManager.default.removeItem(atPath: input)
            try? FileManager.default.removeItem(atPath: output)
        }
        // No key (the purge destroyed it) or no source: there is nothing to make.
        guard try await media.decrypt(segmentID: segmentID, rendition: source, to: input) else { return }
        try await transcoder.watermark(source: input, kind: segment.kind, text: Rendition.watermark(handle: author.handle),
                                       textFile: media.scratchPath("watermark.txt"), output: output)
        do {
            try await segments.database.checkFence()
            try await media.store(segmentID: segmentID, files: [download: output])
        } catch MediaStoreRefusal.noKey {
            logger.info("Download rendition not stored: the segment is being purged", metadata: ["segment": "\(segmentID)"])
            return
        }
        // A purge that began after the read above may have listed the segment's blobs before this one arrived.
        if let after = try await segments.segment(id: segmentID), after.state.hasMedia { return }
        try await media.removeSegment(segmentID)
    }
}
