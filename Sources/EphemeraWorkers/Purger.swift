import EphemeraCore
import EphemeraMedia
import EphemeraStore
import Foundation
import Logging

/// Runs a purge (the `purge_segment` job), each step idempotent and recorded in the purge log so a purge
/// killed at any point completes when re-run, with a complete receipt:
/// 1. destroy the data key (crypto-shredding: every copy of the blobs, backups included, is unreadable);
/// 2. delete every blob of the segment;
/// 3. delete what hangs off it and replace the row with a tombstone (no author, no viewer);
/// 4. write the deletion receipt and drop the log.
public struct Purger: Sendable {
    let deletion: SQLDeletionStore
    let media: any MediaStore
    let keyring: any Keyring
    let clock: any EphemeraClock
    let keyBackupRetention: Duration
    let logger: Logger

    public init(deletion: SQLDeletionStore, media: any MediaStore, keyring: any Keyring, clock: any EphemeraClock,
                keyBackupRetention: Duration, logger: Logger) {
        self.deletion = deletion
        self.media = media
        self.keyring = keyring
        self.clock = clock
        self.keyBackupRetention = keyBackupRetention
        self.logger = logger
    }

    /// The purge's steps, in order. Each may be re-run; each records what it removed.
    public enum Step: String, Sendable, CaseIterable {
        case destroyKey, deleteBlobs, replaceRowWithTombstone, writeReceipt
    }

    /// Runs every step not finished yet (all of them are safe to repeat).
    public func purge(segmentID: String) async throws {
        guard try await deletion.isPurging(segmentID: segmentID) else { return }
        for step in Step.allCases { try await run(step, segmentID: segmentID) }
        logger.info("Segment purged", metadata: ["segment": "\(segmentID)"])
    }

    /// Runs one step (tests use it to stop a purge part-way, as a crash would).
    public func run(_ step: Step, segmentID: String) async throws {
        switch step {
        case .destroyKey:
            let hadKey = try await keyring.destroyKey(for: segmentID)
            try await deletion.logStep(
                segmentID: segmentID, step: "1-key", store: .keyring,
                detail: hadKey ? "data key destroyed" : "no data key was stored", at: clock.now())
        case .deleteBlobs:
            // Deleting is idempotent: a re-run after a crash between deleting and logging finds nothing more
            // to remove, and the folder's line still records that the segment's blobs are gone.
            let removed = try await media.removeSegment(segmentID).map {
                SQLDeletionStore.StepRecord(step: "2-blob-\($0.name)", store: .media,
                                            detail: "\($0.name) (\($0.bytes) bytes, encrypted)")
            }
            try await deletion.logSteps(
                segmentID: segmentID,
                removed + [.init(step: "2-blobs", store: .media, detail: "\(media.container(of: segmentID)) removed")],
                at: clock.now())
        case .replaceRowWithTombstone:
            guard let rows = try await deletion.replaceWithTombstone(segmentID: segmentID, now: clock.now()) else { return }
            let counts = rows.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
                .joined(separator: ", ")
            try await deletion.logStep(
                segmentID: segmentID, step: "3-rows", store: .database,
                detail: "\(counts.isEmpty ? "no interactions" : counts); segment row replaced by an anonymous tombstone",
                at: clock.now())
        case .writeReceipt:
            try await writeReceipt(segmentID: segmentID)
        }
    }

    private func writeReceipt(segmentID: String) async throws {
        guard let (authorID, log) = try await deletion.purgeLog(segmentID: segmentID),
              let tombstone = try await deletion.tombstone(segmentID: segmentID) else { return }
        let started = log.first { $0.step == "started" }?.at ?? tombstone.purgedAt
        let receipt = DeletionReceipt(
            segmentID: segmentID, kind: SegmentKind(rawValue: tombstone.kind) ?? .photo, uploadedAt: tombstone.uploadedAt,
            purgeStartedAt: started, purgedAt: tombstone.purgedAt,
            entries: log.filter { $0.step != "started" }.map {
                DeletionReceipt.Entry(store: ReceiptStore(rawValue: $0.store) ?? .database, removed: $0.detail, at: $0.at)
            },
            kept: DeletionReceipt.keptTombstone,
            noReadableCopyAfter: DeletionRules.noReadableCopyAfter(
                purgedAt: tombstone.purgedAt, keyBackupRetention: keyBackupRetention))
        try await deletion.finishPurge(segmentID: segmentID, authorID: authorID, receipt: receipt, at: clock.now())
    }
}
