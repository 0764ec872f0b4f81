import EphemeraCore
import EphemeraStore

/// What became of a segment its author deleted.
public enum DeleteOutcome: Sendable, Hashable {
    /// Hidden everywhere, restorable until `restorableUntil`.
    case deleted(Segment)
    /// Its purge has begun.
    case purging
    /// Taken down and under legal hold: gone from the author's reads, kept (hidden) until then.
    case keptUnderHold(until: Instant)
}

/// Deleting (DESIGN.md, "Deletion"): delete and restore, permanent deletes, "delete all my story data", account
/// deletion (both after the password again) and the receipts of finished purges. Deleting hides at once (the
/// state change is the hiding); purges run as jobs.
public struct Deleting: Sendable {
    let segments: SQLSegmentStore
    let deletion: SQLDeletionStore
    let moderation: SQLModerationStore
    let identity: Identity
    let clock: any EphemeraClock
    let restoreWindow: Duration
    let wakeWorkers: @Sendable () -> Void

    /// Where erasures are recorded, beside the keys (the erasure ledger).
    let ledger: any Keyring

    public init(segments: SQLSegmentStore, deletion: SQLDeletionStore, moderation: SQLModerationStore, identity: Identity,
                ledger: any Keyring, clock: any EphemeraClock, restoreWindow: Duration,
                wakeWorkers: @escaping @Sendable () -> Void) {
        self.ledger = ledger
        self.segments = segments
        self.deletion = deletion
        self.moderation = moderation
        self.identity = identity
        self.clock = clock
        self.restoreWindow = restoreWindow
        self.wakeWorkers = wakeWorkers
    }

    /// The author deletes their segment: into recently deleted, or (`permanently`) straight into its purge. A
    /// taken-down segment is purged, or under a legal hold only leaves the author's view.
    public func delete(segmentID: String, by author: Account, permanently: Bool) async throws -> DeleteOutcome {
        let now = clock.now()
        guard let segment = try await segments.segment(id: segmentID), segment.authorID == author.id,
              segment.state != .purged else { throw EphemeraError.storyNotFound }
        if segment.state == .removed {
            if let until = try await moderation.discard(segmentID: segmentID, authorID: author.id, at: now) {
                return .keptUnderHold(until: until)
            }
            wakeWorkers()
            return .purging
        }
        if permanently {
            try await deletion.beginPurge(segmentID: segmentID, now: now)
            wakeWorkers()
            return .purging
        }
        return .deleted(try await deletion.delete(segmentID: segmentID, authorID: author.id, now: now, window: restoreWindow))
    }

    /// Back to `live`, or `archived` when it expired meanwhile, within the restore window.
    public func restore(segmentID: String, by author: Account) async throws -> Segment {
        try await deletion.restore(segmentID: segmentID, authorID: author.id, now: clock.now())
    }

    public func recentlyDeleted(of author: Account, limit: Int, after cursor: PageCursor?) async throws -> Page<Segment> {
        try await deletion.recentlyDeleted(authorID: author.id, limit: limit, after: cursor)
    }

    /// The receipt of the author's purged segment; a conflict while it is not purged yet; else not found.
    public func receipt(segmentID: String, for author: Account) async throws -> DeletionReceipt {
        if let (owner, receipt) = try await deletion.receipt(segmentID: segmentID), owner == author.id { return receipt }
        if let segment = try await segments.segment(id: segmentID), segment.authorID == author.id {
            throw EphemeraError.conflict("not_purged", segment.state == .purging
                ? "This segment is being purged; its receipt is ready once every step is done."
                : "This segment has not been purged, so there is no deletion receipt yet.")
        }
        throw EphemeraError.storyNotFound
    }

    /// "Delete all my story data", after the password again: every segment begins its purge; returns how many.
    public func deleteAllStories(of account: Account, password: String?, address: String?) async throws -> Int {
        let me = try await identity.reauthenticate(account, password: password, address: address)
        let count = try await deletion.beginPurgeOfAll(authorID: me.id, now: clock.now())
        wakeWorkers()
        return count
    }

    /// Deletes the account, after the password again: hidden with every trace at once, purged by jobs.
    public func deleteAccount(_ account: Account, password: String?, address: String?) async throws {
        let me = try await identity.reauthenticate(account, password: password, address: address)
        // In the ledger first: a backup restored later erases the account again, sessions and all.
        try await ledger.recordErasure(Erasure(.account, id: me.id, at: clock.now()))
        try await deletion.beginAccountDeletion(accountID: me.id, now: clock.now())
        wakeWorkers()
    }

    /// Erases again whatever the erasure ledger says was erased but the database still holds — a database
    /// restored from a backup older than the erasure: accounts are deleted again (sessions, traces, purges of
    /// their segments), segments purged again. Returns what it erased; nothing when the database is up to date.
    public func replayLedger() async throws -> (accounts: [Account], segments: [String]) {
        let ledger = try await self.ledger.erasures()
        let now = clock.now()
        // Segments first (an account's deletion would otherwise start their purges unreported), then accounts.
        var purged: [String] = []
        for id in try await segments.unpurgedSegmentIDs(among: ledger.filter { $0.kind == .segment }.map(\.id)) {
            if try await deletion.beginPurge(segmentID: id, now: now) { purged.append(id) }
        }
        let accounts = try await identity.accounts.liveAccounts(among: ledger.filter { $0.kind == .account }.map(\.id))
        for account in accounts { try await deletion.beginAccountDeletion(accountID: account.id, now: now) }
        if !accounts.isEmpty || !purged.isEmpty { wakeWorkers() }
        return (accounts, purged)
    }
}
