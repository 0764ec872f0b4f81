/// The rules of deletion (DESIGN.md, "Deletion"): a deleted segment stays restorable for the restore window,
/// then is purged; purging leaves a tombstone without identities and a receipt for the author.
public enum DeletionRules {
    /// Until when a segment deleted at `deletedAt` can be restored.
    public static func restorableUntil(deletedAt: Instant, window: Duration) -> Instant { deletedAt + window }

    /// Whether the author may restore `segment` at `now`.
    public static func canRestore(_ segment: Segment, at now: Instant) -> Bool {
        guard segment.state == .deleted, let until = segment.restorableUntil else { return false }
        return now < until
    }

    /// Whether the window of a deleted segment is over, so the purge must begin.
    public static func isDueForPurge(_ segment: Segment, at now: Instant) -> Bool {
        guard segment.state == .deleted, let until = segment.restorableUntil else { return false }
        return now >= until
    }

    /// The state a purge of `segment` begins with at `now`, or nil when it may not begin: it is already purging,
    /// `Lifecycle` does not allow it, or a legal hold keeps the (removed) segment until `holdUntil`, whoever asks
    /// (the author, their account's deletion, the sweeper).
    public static func purgeStart(_ segment: Segment, holdUntil: Instant?, at now: Instant) -> SegmentState? {
        guard segment.state != .purging,
              let next = Lifecycle.next(after: segment.state, on: .beginPurge, expired: segment.isExpired(at: now))
        else { return nil }
        if segment.state == .removed, ModerationRules.isHeld(holdUntil: holdUntil, at: now) { return nil }
        return next
    }

    /// When the job that removes a deleted account runs again while segments of theirs remain: when the last
    /// legal hold on them ends (`lastHoldEnd`, when every remaining one is held), else shortly, while the
    /// others finish purging — never in a tight loop.
    public static func accountRemovalRetry(at now: Instant, lastHoldEnd: Instant?) -> Instant {
        max(now + .seconds(2), lastHoldEnd ?? now)
    }

    /// After this instant no readable copy of a segment purged at `purgedAt` exists anywhere: the data key is
    /// destroyed at purge and the last keyring backup that could hold it is deleted after the key-backup
    /// retention; the last database backup that could hold its caption, comments and reports in clear, after
    /// the backup retention. The longer of the two.
    public static func noReadableCopyAfter(purgedAt: Instant, retention: BackupRetention) -> Instant {
        purgedAt + retention.longest
    }
}

/// What a person leaves on others' stories and profiles. When they delete their account, every trace goes in
/// the same transaction that hides the account (with the counts it added to), even while segments of theirs
/// wait out a legal hold before the account row itself can go: a deleted account disappears from every read
/// at once (API.md, "Changed behaviour").
public enum AccountTrace: String, Sendable, CaseIterable {
    case sessions, likes, reactions, replies, comments, views, shares, follows, closeFriends, blocks, hiddenFrom, mutes,
        profileViews
}

/// A place a purge removes things from.
public enum ReceiptStore: String, Sendable, Hashable, Codable, CaseIterable {
    case keyring, media, database
}

/// What a purge removed, where and when: the author's proof that their segment is gone. Typed; the API
/// formats it (`GET …/deletion-receipt`).
public struct DeletionReceipt: Sendable, Hashable, Codable {
    /// One thing removed from one store.
    public struct Entry: Sendable, Hashable, Codable {
        public var store: ReceiptStore
        public var removed: String
        public var at: Instant

        public init(store: ReceiptStore, removed: String, at: Instant) {
            self.store = store
            self.removed = removed
            self.at = at
        }
    }

    public var segmentID: String
    public var kind: SegmentKind
    public var uploadedAt: Instant
    public var purgeStartedAt: Instant
    public var purgedAt: Instant
    public var entries: [Entry]
    /// What is kept: the tombstone's fields, none of which identify the author or a viewer.
    public var kept: String
    /// After this instant no readable copy can exist in any backup.
    public var noReadableCopyAfter: Instant

    public init(segmentID: String, kind: SegmentKind, uploadedAt: Instant, purgeStartedAt: Instant, purgedAt: Instant,
                entries: [Entry], kept: String, noReadableCopyAfter: Instant) {
        self.segmentID = segmentID
        self.kind = kind
        self.uploadedAt = uploadedAt
        self.purgeStartedAt = purgeStartedAt
        self.purgedAt = purgedAt
        self.entries = entries
        self.kept = kept
        self.noReadableCopyAfter = noReadableCopyAfter
    }

    /// What every receipt says is kept.
    public static let keptTombstone = "an anonymous tombstone: segment id, upload date, kind, duration and aggregated counts"

    /// One line of a purge's log: a step finished, what it removed from which store. The `started` line says
    /// when the purge began.
    public struct LogLine: Sendable, Hashable {
        public var step: String
        public var store: String
        public var detail: String
        public var at: Instant

        public init(step: String, store: String, detail: String, at: Instant) {
            self.step = step
            self.store = store
            self.detail = detail
            self.at = at
        }

        public static let started = "started"
    }

    /// The receipt of a finished purge, made from its log: every line but `started` is an entry.
    public init(segmentID: String, kind: SegmentKind, uploadedAt: Instant, purgedAt: Instant, log: [LogLine],
                retention: BackupRetention) {
        self.init(
            segmentID: segmentID, kind: kind, uploadedAt: uploadedAt,
            purgeStartedAt: log.first { $0.step == LogLine.started }?.at ?? purgedAt, purgedAt: purgedAt,
            entries: log.filter { $0.step != LogLine.started }.map {
                Entry(store: ReceiptStore(rawValue: $0.store) ?? .database, removed: $0.detail, at: $0.at)
            },
            kept: Self.keptTombstone,
            noReadableCopyAfter: DeletionRules.noReadableCopyAfter(purgedAt: purgedAt, retention: retention))
    }
}

/// How long backups are kept before their rotation deletes them: keyring backups (`--key-backup-retention`,
/// default 7 days) and database backups (`--backup-retention`, default 30 days). A purged segment's last
/// readable copy is gone once the longer has passed (`DeletionRules.noReadableCopyAfter`).
public struct BackupRetention: Sendable, Hashable {
    public var keys: Duration
    public var database: Duration

    public init(keys: Duration = .seconds(7 * 86400), database: Duration = .seconds(30 * 86400)) {
        self.keys = keys
        self.database = database
    }

    public var longest: Duration { max(keys, database) }

    /// What the erasure ledger must still hold at `now`: the erasures that some kept backup could still bring
    /// back. No database backup older than the retention is kept (rotation deletes them; receipts promise as
    /// much), so an erasure older than that has nothing left to undo — less a day's margin, for a backup taken
    /// while an erasure was being committed (it is recorded first).
    public func ledgerHorizon(now: Instant) -> Instant { now - database - .seconds(86400) }
}
