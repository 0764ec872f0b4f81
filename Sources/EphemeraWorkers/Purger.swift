import EphemeraCore
import EphemeraMedia
import EphemeraStore
import Foundation
import Logging

/// Runs a purge (the `purge_segment` job), each step idempotent and recorded in the purge log so a purge
/// killed at any point completes when re-run, with a complete receipt:
/// 1. destroy the data key (crypto-shredding: every copy of the blobs, backups included, is unreadable);
/// 2. delete every blob of the segment;
/// 3. in one transaction: delete what hangs off it, replace the row with a tombstone (no author, no viewer),
///    write the deletion receipt and drop the log.
public struct Purger: Sendable {
    let deletion: SQLDeletionStore
    let media: any MediaStore
    let keyring: any Keyring
    let clock: any EphemeraClock
    let retention: BackupRetention
    let logger: Logger

    public init(deletion: SQLDeletionStore, media: any MediaStore, keyring: any Keyring, clock: any EphemeraClock,
                retention: BackupRetention, logger: Logger) {
        self.deletion = deletion
        self.media = media
        self.keyring = keyring
        self.clock = clock
        self.retention = retention
        self.logger = logger
    }

    /// What the receipt says of the key: the ciphertext was handed to viewers' browsers and to shared caches
    /// (API.md, "Media for clients that decrypt"); without the key every such copy is noise.
    public static let keyDestroyed = "data key destroyed: every copy of the encrypted media, in browsers, shared caches, "
        + "the object store or backups, is unreadable from now on"

    /// The purge's steps, in order. Each may be re-run; each records what it removed.
    public enum Step: String, Sendable, CaseIterable {
        case destroyKey, deleteBlobs, replaceRowAndWriteReceipt
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
            // In the erasure ledger first, so a database backup restored later purges the segment again.
            try await keyring.recordErasure(Erasure(.segment, id: segmentID, at: clock.now()))
            let hadKey = try await keyring.destroyKey(for: segmentID)
            try await deletion.logStep(
                segmentID: segmentID, step: "1-key", store: .keyring,
                detail: hadKey ? Self.keyDestroyed : "no data key was stored", at: clock.now())
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
        case .replaceRowAndWriteReceipt:
            try await deletion.finishPurge(segmentID: segmentID, now: clock.now(), retention: retention)
        }
    }
}
