import EphemeraCore
import EphemeraStore
import Logging
import ServiceLifecycle

/// Tidies expired segments: `live` past `expiresAt` becomes `expired`, then `archived` when the author keeps an
/// archive, or is purged; begins the purge of deleted segments whose restore window is over, and of removed segments
/// whose legal hold has ended. Visibility never waits for it; it compares `expiresAt` with the clock on every read.
public struct ExpirySweeper: Service {
    let segments: SQLSegmentStore
    let deletion: SQLDeletionStore
    let moderation: SQLModerationStore
    let profileViews: SQLProfileViewStore
    let resumableUploads: ResumableUploadJanitor
    /// Its unfinished writes older than `AbandonedWrites.age` were left by a crashed node, and are removed.
    let media: any MediaStore
    /// Its local copies of uploads another node processed are removed after `AbandonedWrites.age`.
    let inbox: any UploadInbox
    /// Keys a crash left naming nothing are removed every `StrayKeys.sweepInterval`.
    let keyring: any Keyring
    let signal: JobSignal
    let clock: any EphemeraClock
    let logger: Logger
    let interval: Duration

    public init(segments: SQLSegmentStore, deletion: SQLDeletionStore, moderation: SQLModerationStore,
                profileViews: SQLProfileViewStore,
                resumableUploads: ResumableUploadJanitor, media: any MediaStore, inbox: any UploadInbox, keyring: any Keyring,
                signal: JobSignal, clock: any EphemeraClock, logger: Logger, interval: Duration = .seconds(30)) {
        self.segments = segments
        self.deletion = deletion
        self.moderation = moderation
        self.profileViews = profileViews
        self.resumableUploads = resumableUploads
        self.media = media
        self.inbox = inbox
        self.keyring = keyring
        self.signal = signal
        self.clock = clock
        self.logger = logger
        self.interval = interval
    }

    /// Segments per sweep transaction: large enough that a day's expiries take a few dozen commits, small
    /// enough that SQLite's single writer is not held for long (about 50 ms a batch on this machine kind).
    static let batchSize = 2000

    public func run() async throws {
        // The server swept at start; the next look is an interval later.
        var residueSwept = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await sweep()
            } catch {
                logger.error("Expiry sweep failed: \(error)")
            }
            if ContinuousClock.now - residueSwept >= StrayKeys.sweepInterval {
                residueSwept = .now
                do {
                    try await sweepResidue()
                } catch {
                    logger.error("Residue sweep failed: \(error)")
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Removes the keys a crash left naming nothing, once they are older than any post still in flight
    /// (`StrayKeys`); returns their ids. Incoming files are left to the start of the server (before it serves):
    /// a running node cannot tell one a crash left from one a post is being made of — sweeping them here once
    /// removed a tus upload's assembled file mid-post (found by the chaos test).
    @discardableResult
    public func sweepResidue() async throws -> [String] {
        let auditor = Auditor(segments: segments, deletion: deletion, media: media, inbox: inbox, keyring: keyring,
                              resumableUploads: resumableUploads)
        var removed: [String] = []
        for id in try await auditor.removeStrayKeys(madeBefore: StrayKeys.cutoff(now: clock.now(), startingSingleNode: false)) {
            logger.notice("Removed a data key no segment or upload names (left by a crash)", metadata: ["key": "\(id)"])
            removed.append(id)
        }
        return removed
    }

    /// The advisory lock that makes one node at a time the sweeper of a cluster.
    static let lockName = "ephemera-expiry-sweeper"

    /// One pass: expired live segments go to the archive or begin purging; deleted segments whose restore
    /// window is over begin purging. Returns how many segments it moved. In a cluster one node sweeps at a
    /// time (an advisory lock); a node that finds another sweeping skips its pass (nil).
    @discardableResult
    public func sweep() async throws -> Int? {
        try await deletion.database.whileHolding(lock: Self.lockName) { try await sweepHoldingLock() }
    }

    func sweepHoldingLock() async throws -> Int {
        let now = clock.now()
        var moved = 0
        // In batches, each one transaction: a day's worth of expiries is a few statements, not one
        // transaction per segment.
        // Both steps of `Lifecycle`: live → expired, then expired → archived or purging. A crash between them
        // leaves segments `expired`, which the next sweep settles.
        while try await deletion.expireDue(now: now, limit: Self.batchSize) == Self.batchSize {}
        while true {
            let batch = try await deletion.settleExpired(now: now, limit: Self.batchSize)
            moved += batch
            if batch < Self.batchSize { break }
        }
        for segment in try await deletion.dueForPurge(now: now, limit: 1000) where DeletionRules.isDueForPurge(segment, at: now) {
            if try await deletion.beginPurge(segmentID: segment.id, now: now) { moved += 1 }
        }
        // Segments whose takedown was upheld are purged once their legal hold ends.
        moved += try await moderation.releaseEndedHolds(now: now)
        try await profileViews.prune(now: now)
        try await resumableUploads.sweep(now: now)
        let abandoned = try await media.removeAbandonedWrites(startedBefore: now - AbandonedWrites.age)
        if abandoned > 0 { logger.notice("Aborted \(abandoned) media writes a crashed node left unfinished") }
        let unclaimed = try await inbox.removeUnclaimedLocalCopies(keeping: try await segments.uploadSourceFiles(),
                                                                   receivedBefore: now - AbandonedWrites.age)
        if unclaimed > 0 { logger.info("Removed \(unclaimed) local copies of uploads processed elsewhere") }
        if moved > 0 {
            logger.info("Swept \(moved) segments")
            signal.notify()
        }
        return moved
    }
}
