import EphemeraCore
import Foundation
import SQLKit

/// Deletion in SQL: delete and restore, the purge's durable steps, tombstones and receipts.
public struct SQLDeletionStore: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// `live`/`expired`/`archived` → `deleted`, hidden at once (the state change is the hiding, in one
    /// transaction). Deleting an already deleted segment answers it as it is.
    public func delete(segmentID: String, authorID: String, now: Instant, window: Duration) async throws -> Segment {
        try await database.transaction { sql in
            guard let segment = try await SQLSegmentStore.segment(id: segmentID, on: sql), segment.authorID == authorID,
                  segment.state != .purged else { throw EphemeraError.storyNotFound }
            if segment.state == .deleted { return segment }
            let next = try Lifecycle.apply(.delete, to: segment.state, expired: segment.isExpired(at: now))
            let until = DeletionRules.restorableUntil(deletedAt: now, window: window)
            try await SQLSegmentStore.moveOrConflict(segment, to: next, setting: """
                deleted_at = \(bind: now.milliseconds), restorable_until = \(bind: until.milliseconds)
                """, on: sql)
            var deleted = segment
            deleted.state = next
            deleted.deletedAt = now
            deleted.restorableUntil = until
            return deleted
        }
    }

    /// `deleted` → `live` (before `expiresAt`) or `archived`, within the window.
    public func restore(segmentID: String, authorID: String, now: Instant) async throws -> Segment {
        try await database.transaction { sql in
            guard let segment = try await SQLSegmentStore.segment(id: segmentID, on: sql), segment.authorID == authorID else {
                if try await Self.receiptAuthor(segmentID, on: sql) == authorID { throw Self.purged }
                throw EphemeraError.storyNotFound
            }
            if segment.state == .purging { throw Self.purged }
            guard DeletionRules.canRestore(segment, at: now) else {
                throw EphemeraError.conflict("not_restorable", segment.state == .deleted
                    ? "The restore window of this segment has ended; it is being purged."
                    : "Only a deleted segment can be restored; this one is \(segment.state.rawValue).")
            }
            let next = try Lifecycle.apply(.restore, to: segment.state, expired: segment.isExpired(at: now))
            try await SQLSegmentStore.moveOrConflict(segment, to: next, setting: "deleted_at = NULL, restorable_until = NULL",
                                                     on: sql)
            var restored = segment
            restored.state = next
            restored.deletedAt = nil
            restored.restorableUntil = nil
            return restored
        }
    }

    static let purged = EphemeraError(.gone, "story_purged", "This segment has been purged for good; it cannot be restored.")

    /// Begins purging the segment (any state but purged): `purging` and the purge job, in one transaction.
    /// Returns false when it was already purging or gone.
    @discardableResult
    public func beginPurge(segmentID: String, now: Instant) async throws -> Bool {
        try await database.transaction { sql in try await Self.beginPurge(segmentID: segmentID, now: now, on: sql) }
    }

    static func beginPurge(segmentID: String, now: Instant, on sql: any SQLDatabase) async throws -> Bool {
        guard let segment = try await SQLSegmentStore.segment(id: segmentID, on: sql) else { return false }
        let holdUntil = segment.state == .removed ? try await SQLModerationStore.holdUntil(segmentID: segmentID, on: sql) : nil
        guard let next = DeletionRules.purgeStart(segment, holdUntil: holdUntil, at: now),
              try await SQLSegmentStore.move(segment, to: next, on: sql) else { return false }
        try await sql.raw("""
            INSERT INTO purge_log (segment_id, author_id, step, store, detail, at) VALUES (\(bind: segmentID),
            \(bind: segment.authorID), 'started', 'database', 'purge requested', \(bind: now.milliseconds))
            """).run()
        try await SQLJobQueue.insert(.purgeSegment(segmentID: segmentID), runAt: now, on: sql)
        return true
    }

    /// The sweep's first step: up to `limit` live segments past `expiresAt` become `expired`, in one statement
    /// (`Lifecycle`: live --expire--> expired). Returns how many. Visibility never waited for this: reads
    /// compare `expiresAt` with the clock, and no cached tray is served past the earliest `expiresAt` it shows —
    /// so the state change is invisible to every tray, and the transaction empties no tray cache, here or on
    /// other nodes (it used to, every sweep, whether or not anything expired).
    public func expireDue(now: Instant, limit: Int) async throws -> Int {
        let next = try Lifecycle.apply(.expire, to: .live, expired: true)
        return try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("""
                UPDATE segments SET state = \(bind: next.rawValue) WHERE id IN (
                  SELECT id FROM segments WHERE state = 'live' AND expires_at <= \(bind: now.milliseconds)
                  ORDER BY expires_at LIMIT \(literal: limit)
                ) AND state = 'live' RETURNING id
                """).all().count
        }
    }

    /// When the longest-waiting segment that the sweep has yet to move on was due: live past its `expiresAt`, or
    /// expired and not yet archived or purging (nil when the sweep is up to date). `/metrics`' sweep lag.
    public func oldestUnswept(now: Instant) async throws -> Instant? {
        try await database.withConnection { sql in
            var oldest: Int64?
            for state in ["live", "expired"] {
                let row = try await sql.raw("""
                    SELECT MIN(expires_at) AS oldest FROM segments WHERE state = \(bind: state) AND expires_at <= \(bind: now.milliseconds)
                    """).first()
                if let value = try row?.decode(column: "oldest", as: Int64?.self) { oldest = min(oldest ?? value, value) }
            }
            return oldest.map(Instant.init(milliseconds:))
        }
    }

    /// The sweep's second step: up to `limit` expired segments go where `Lifecycle.afterExpiry` sends them —
    /// the archive when the author keeps one, else into purging with a purge job each — set-based, in one
    /// transaction. Returns how many moved.
    public func settleExpired(now: Instant, limit: Int) async throws -> Int {
        // Expired segments are in no tray already: archiving or purging them changes none.
        try await database.transaction(affectingTrays: false) { sql in
            let due = try await sql.raw("""
                SELECT s.id, a.archive_expired,
                  EXISTS (SELECT 1 FROM highlight_segments hs WHERE hs.segment_id = s.id) AS in_highlight
                FROM segments s JOIN accounts a ON a.id = s.author_id
                WHERE s.state = 'expired' ORDER BY s.expires_at LIMIT \(literal: limit)
                """).all().map {
                (id: try $0.decode(column: "id", as: String.self),
                 event: Lifecycle.afterExpiry(keepsArchive: try $0.decode(column: "archive_expired", as: Bool.self),
                                              inHighlight: try $0.decode(column: "in_highlight", as: Bool.self)))
            }
            for event in [LifecycleEvent.archive, .beginPurge] {
                let ids = due.filter { $0.event == event }.map(\.id)
                guard !ids.isEmpty else { continue }
                let next = try Lifecycle.apply(event, to: .expired, expired: true)
                try await sql.raw("""
                    UPDATE segments SET state = \(bind: next.rawValue) WHERE state = 'expired' AND id IN (\(binds: ids))
                    """).run()
                if next == .purging { try await Self.startPurgeLogsAndJobs(ids, now: now, on: sql) }
            }
            return due.count
        }
    }

    /// The purge log's first line and a purge job for each of `ids`, already `purging` (set-based, as
    /// `beginPurge` does one at a time).
    static func startPurgeLogsAndJobs(_ ids: [String], now: Instant, on sql: any SQLDatabase) async throws {
        try await sql.raw("""
            INSERT INTO purge_log (segment_id, author_id, step, store, detail, at)
            SELECT id, author_id, 'started', 'database', 'purge requested', \(bind: now.milliseconds)
            FROM segments WHERE state = 'purging' AND id IN (\(binds: ids))
            """).run()
        try await SQLJobQueue.insert(ids.map { .purgeSegment(segmentID: $0) }, runAt: now, on: sql)
    }

    /// Begins purging every segment of the author that is not purged yet; returns how many.
    public func beginPurgeOfAll(authorID: String, now: Instant) async throws -> Int {
        try await database.transaction { sql in
            let ids = try await sql.raw("""
                SELECT id FROM segments WHERE author_id = \(bind: authorID) AND state <> 'purging'
                """).all().map { try $0.decode(column: "id", as: String.self) }
            var count = 0
            for id in ids where try await Self.beginPurge(segmentID: id, now: now, on: sql) { count += 1 }
            return count
        }
    }

    /// The author's deleted, still restorable segments, most recently deleted first.
    public func recentlyDeleted(authorID: String, limit: Int, after cursor: PageCursor?) async throws -> Page<Segment> {
        try await database.withConnection { sql in
            var query: SQLQueryString = """
                SELECT \(SQLSegmentStore.columns) FROM segments s WHERE s.author_id = \(bind: authorID) AND s.state = 'deleted'
                """
            query += Keyset.continuing(after: cursor, instant: "s.deleted_at", id: "s.id", limit: limit)
            return try Keyset.page(try await sql.raw(query).all(), limit: limit, item: SQLSegmentStore.segment(from:)) {
                PageCursor(instant: $0.deletedAt?.milliseconds ?? 0, id: $0.id)
            }
        }
    }

    /// Deleted segments whose restore window is over.
    /// (The SQL mirror of `DeletionRules.isDueForPurge`, which the sweeper applies to what this returns.)
    public func dueForPurge(now: Instant, limit: Int) async throws -> [Segment] {
        try await database.withConnection { sql in
            try await sql.raw("""
                SELECT \(SQLSegmentStore.columns) FROM segments s WHERE s.state = 'deleted'
                AND s.restorable_until <= \(bind: now.milliseconds) ORDER BY s.restorable_until LIMIT \(literal: limit)
                """).all().map(SQLSegmentStore.segment(from:))
        }
    }

    // MARK: Purge steps

    /// One line of a purge log: a step done, in which store, what it removed.
    public struct StepRecord: Sendable {
        public var step: String
        public var store: ReceiptStore
        public var detail: String

        public init(step: String, store: ReceiptStore, detail: String) {
            self.step = step
            self.store = store
            self.detail = detail
        }
    }

    /// Records that a purge step is done (once; a re-run keeps the first record).
    public func logStep(segmentID: String, step: String, store: ReceiptStore, detail: String, at now: Instant) async throws {
        try await logSteps(segmentID: segmentID, [StepRecord(step: step, store: store, detail: detail)], at: now)
    }

    /// Records several finished steps, each once, in one statement: each line copies the author from the
    /// purge's `started` line (no line is written for a purge that is not under way), and a step already
    /// logged by an earlier run is left as it was.
    public func logSteps(segmentID: String, _ steps: [StepRecord], at now: Instant) async throws {
        guard !steps.isEmpty else { return }
        let lines: [SQLQueryString] = steps.map { record in
            """
            SELECT segment_id, author_id, \(bind: record.step), \(bind: record.store.rawValue), \(bind: record.detail),
            \(bind: now.milliseconds) FROM purge_log WHERE segment_id = \(bind: segmentID) AND step = 'started'
            """
        }
        try await database.withConnection { sql in
            try await sql.raw("""
                INSERT INTO purge_log (segment_id, author_id, step, store, detail, at) \(lines.joined(separator: " UNION ALL "))
                ON CONFLICT (segment_id, step) DO NOTHING
                """).run()
        }
    }

    /// Whether a purge of this segment is under way (its log exists).
    public func isPurging(segmentID: String) async throws -> Bool {
        try await database.withConnection { sql in
            try await sql.raw("SELECT 1 AS one FROM purge_log WHERE segment_id = \(bind: segmentID) AND step = 'started'")
                .first() != nil
        }
    }

    /// A purge's last step, in one transaction: what hangs off the segment goes (views, likes, comments,
    /// shares, moderation), its row becomes an anonymous tombstone, and the receipt made from the purge log is
    /// stored and the log dropped. Returns false when there was nothing left to do (already finished). A purge
    /// stopped between the row and the receipt by an older version (the tombstone made, the log kept) is finished
    /// the same way.
    @discardableResult
    public func finishPurge(segmentID: String, now: Instant, retention: BackupRetention) async throws -> Bool {
        try await database.transaction(affectingTrays: false) { sql in
            let log = try await sql.raw("""
                SELECT author_id, step, store, detail, at FROM purge_log WHERE segment_id = \(bind: segmentID) ORDER BY at, step
                """).all()
            guard let first = log.first else { return false }
            let authorID = try first.decode(column: "author_id", as: String.self)
            var lines = try log.map {
                DeletionReceipt.LogLine(step: try $0.decode(column: "step", as: String.self),
                                        store: try $0.decode(column: "store", as: String.self),
                                        detail: try $0.decode(column: "detail", as: String.self),
                                        at: Instant(milliseconds: try $0.decode(column: "at", as: Int64.self)))
            }
            let kind: String
            let uploadedAt, purgedAt: Instant
            if let segment = try await SQLSegmentStore.segment(id: segmentID, on: sql) {
                let removed = try await Self.replaceWithTombstone(segment, now: now, on: sql)
                let counts = removed.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
                    .joined(separator: ", ")
                lines.append(DeletionReceipt.LogLine(
                    step: "3-rows", store: ReceiptStore.database.rawValue,
                    detail: "\(counts.isEmpty ? "no interactions" : counts); segment row replaced by an anonymous tombstone",
                    at: now))
                (kind, uploadedAt, purgedAt) = (segment.kind.rawValue, segment.createdAt, now)
            } else {
                guard let row = try await sql.raw(
                    "SELECT uploaded_at, kind, purged_at FROM tombstones WHERE segment_id = \(bind: segmentID)").first()
                else { return false }
                kind = try row.decode(column: "kind", as: String.self)
                uploadedAt = Instant(milliseconds: try row.decode(column: "uploaded_at", as: Int64.self))
                purgedAt = Instant(milliseconds: try row.decode(column: "purged_at", as: Int64.self))
            }
            let receipt = DeletionReceipt(segmentID: segmentID, kind: SegmentKind(rawValue: kind) ?? .photo,
                                          uploadedAt: uploadedAt, purgedAt: purgedAt, log: lines,
                                          retention: retention)
            // Written once; an account deleted meanwhile has no one to give a receipt to.
            try await sql.raw("""
                INSERT INTO deletion_receipts (segment_id, author_id, receipt, created_at) SELECT \(bind: segmentID), id,
                \(bind: String(decoding: try JSONEncoder().encode(receipt), as: UTF8.self)), \(bind: now.milliseconds)
                FROM accounts WHERE id = \(bind: authorID) ON CONFLICT (segment_id) DO NOTHING
                """).run()
            try await sql.raw("DELETE FROM purge_log WHERE segment_id = \(bind: segmentID)").run()
            return true
        }
    }

    /// Deletes the rows that hang off `segment` and replaces its row with the tombstone; returns how many rows of
    /// each kind went.
    /// The insight counters of a segment, as a receipt names them, and their columns (`SegmentInsights`).
    static let navigationCounters = [
        ("impression_count", "impressions"), ("tap_forward_count", "taps forward"), ("tap_back_count", "taps back"),
        ("exit_count", "exits"), ("completion_count", "completions"),
    ]

    static func replaceWithTombstone(_ segment: Segment, now: Instant, on sql: any SQLDatabase) async throws -> [String: Int] {
        let segmentID = segment.id
        // Every count in one round trip (the child tables' rows, the insight counters, the highlights it is the
        // cover of), then only the writes that have something to do.
        var counts: [SQLQueryString] = segmentChildTables.map {
            "(SELECT COUNT(*) FROM \(ident: $0) WHERE segment_id = \(bind: segmentID)) AS \(ident: $0)"
        }
        counts += navigationCounters.map { column, _ in
            "(SELECT \(ident: column) FROM segments WHERE id = \(bind: segmentID)) AS \(ident: column)"
        }
        counts.append("(SELECT COUNT(*) FROM highlights WHERE cover_segment_id = \(bind: segmentID)) AS covers")
        let countRow = try await sql.raw("SELECT " + counts.joined(separator: ", ")).first()
        var removed: [String: Int] = [:]
        for table in segmentChildTables {
            removed[table] = try countRow?.decode(column: table, as: Int.self) ?? 0
            if removed[table] != 0 {
                try await sql.raw("DELETE FROM \(ident: table) WHERE segment_id = \(bind: segmentID)").run()
            }
        }
        // The insight counters: named in the receipt, their totals kept in the tombstone (no viewer in them).
        var counters: [Int] = []
        for (column, name) in navigationCounters {
            let value = try countRow?.decode(column: column, as: Int?.self) ?? 0
            removed[name] = value
            counters.append(value)
        }
        try await sql.raw("""
            INSERT INTO tombstones (segment_id, uploaded_at, kind, duration_ms, view_count, like_count, comment_count,
            share_count, download_count, purged_at, impression_count, tap_forward_count, tap_back_count, exit_count,
            completion_count) VALUES (\(bind: segment.id), \(bind: segment.createdAt.milliseconds),
            \(bind: segment.kind.rawValue), \(bind: segment.durationMilliseconds), \(bind: segment.viewCount),
            \(bind: segment.likeCount), \(bind: segment.commentCount), \(bind: segment.shareCount),
            \(bind: segment.downloadCount), \(bind: now.milliseconds), \(binds: counters))
            """).run()
        // Its share link keeps only whether anyone at all could see it (`ShareRules.answerForPurged`).
        try await sql.raw("""
            UPDATE share_links SET was_public = \(bind: segment.audience == .public) WHERE segment_id = \(bind: segmentID)
            """).run()
        // The moderation log outlives the segment, but not its content (details, messages, notes, a takedown's
        // reason) nor its author (who wrote the appeal): `ModerationAction.erasedReasonsAtPurge`.
        try await sql.raw("""
            UPDATE moderation_log SET detail = NULL,
            actor_id = CASE WHEN actor_id = \(bind: segment.authorID) THEN NULL ELSE actor_id END,
            reason = CASE WHEN action IN (\(binds: ModerationAction.erasedReasonsAtPurge.map(\.rawValue))) THEN NULL ELSE reason END
            WHERE segment_id = \(bind: segmentID)
            """).run()
        // A highlight whose cover it was shows its first segment instead.
        if try countRow?.decode(column: "covers", as: Int.self) ?? 0 > 0 {
            try await sql.raw("UPDATE highlights SET cover_segment_id = NULL WHERE cover_segment_id = \(bind: segmentID)").run()
        }
        try await sql.raw("DELETE FROM segments WHERE id = \(bind: segmentID)").run()
        return removed
    }

    /// Tables whose rows belong to one segment and go with it.
    public static let segmentChildTables = [
        "views", "shares", "likes", "reactions", "replies", "comments", "reports", "takedowns", "appeals",
        "highlight_segments",
    ]

    /// The receipt of a purged segment and whose it is.
    public func receipt(segmentID: String) async throws -> (authorID: String, receipt: DeletionReceipt)? {
        try await database.withConnection { sql in
            guard let row = try await sql.raw(
                "SELECT author_id, receipt FROM deletion_receipts WHERE segment_id = \(bind: segmentID)").first()
            else { return nil }
            let json = try row.decode(column: "receipt", as: String.self)
            return (try row.decode(column: "author_id", as: String.self),
                    try JSONDecoder().decode(DeletionReceipt.self, from: Data(json.utf8)))
        }
    }

    static func receiptAuthor(_ segmentID: String, on sql: any SQLDatabase) async throws -> String? {
        try await sql.raw("SELECT author_id FROM deletion_receipts WHERE segment_id = \(bind: segmentID)").first()?
            .decode(column: "author_id", as: String.self)
    }

    /// Segment ids with a purge under way (for audits and for finishing interrupted purges).
    public func purgesUnderWay() async throws -> [String] {
        try await database.withConnection { sql in
            try await sql.raw("SELECT segment_id FROM purge_log WHERE step = 'started'").all()
                .map { try $0.decode(column: "segment_id", as: String.self) }
        }
    }

    /// Ids of every tombstone (purged segments).
    public func tombstoneIDs() async throws -> Set<String> {
        try await database.withConnection { sql in
            Set(try await sql.raw("SELECT segment_id FROM tombstones").all()
                .map { try $0.decode(column: "segment_id", as: String.self) })
        }
    }

    /// Tombstoned segments that still have rows in a table that hangs off segments.
    public func leftoversOfPurged() async throws -> [String] {
        try await database.withConnection { sql in
            var ids: Set<String> = []
            for table in Self.segmentChildTables {
                for row in try await sql.raw("""
                    SELECT DISTINCT c.segment_id FROM \(ident: table) c JOIN tombstones t ON t.segment_id = c.segment_id
                    """).all() {
                    ids.insert(try row.decode(column: "segment_id", as: String.self))
                }
            }
            return ids.sorted()
        }
    }

    // MARK: Accounts

    /// Hides the account at once (sessions end, the handle stops resolving), begins purging all its segments,
    /// and queues the job that removes the account once they are purged. One transaction.
    public func beginAccountDeletion(accountID: String, now: Instant) async throws {
        try await database.transaction(affectingSessions: true) { sql in
            try await sql.raw("UPDATE accounts SET deleted_at = \(bind: now.milliseconds) WHERE id = \(bind: accountID)").run()
            for trace in AccountTrace.allCases { try await Self.remove(trace, of: accountID, on: sql) }
            // Its highlights go with it (their segment lists by cascade); the segments are purged below.
            try await sql.raw("DELETE FROM highlights WHERE owner_id = \(bind: accountID)").run()
            let ids = try await sql.raw("SELECT id FROM segments WHERE author_id = \(bind: accountID) AND state <> 'purging'")
                .all().map { try $0.decode(column: "id", as: String.self) }
            for id in ids { _ = try await Self.beginPurge(segmentID: id, now: now, on: sql) }
            try await SQLJobQueue.insert(.deleteAccount(accountID: accountID), runAt: now, on: sql)
        }
    }

    /// Removes one kind of trace the account left, and what it added to others' counts.
    static func remove(_ trace: AccountTrace, of id: String, on sql: any SQLDatabase) async throws {
        /// `counter` of each segment drops by the rows of `table` whose `column` is the account.
        func uncount(_ counter: String, _ table: String, _ column: String, ownToo: Bool = true) async throws {
            let own: SQLQueryString = ownToo ? "" : " AND segments.author_id <> \(bind: id)"
            try await sql.raw("""
                UPDATE segments SET \(unsafeRaw: counter) = \(unsafeRaw: counter) - (SELECT COUNT(*) FROM \(ident: table) x
                  WHERE x.segment_id = segments.id AND x.\(ident: column) = \(bind: id))
                WHERE id IN (SELECT segment_id FROM \(ident: table) WHERE \(ident: column) = \(bind: id))\(own)
                """).run()
            try await sql.raw("DELETE FROM \(ident: table) WHERE \(ident: column) = \(bind: id)").run()
        }
        func deleteEither(_ table: String, _ a: String, _ b: String) async throws {
            try await sql.raw("DELETE FROM \(ident: table) WHERE \(ident: a) = \(bind: id) OR \(ident: b) = \(bind: id)").run()
        }
        switch trace {
        case .sessions: try await sql.raw("DELETE FROM sessions WHERE account_id = \(bind: id)").run()
        case .likes: try await uncount("like_count", "likes", "account_id")
        case .reactions: try await sql.raw("DELETE FROM reactions WHERE account_id = \(bind: id)").run()
        case .replies: try await sql.raw("DELETE FROM replies WHERE author_id = \(bind: id)").run()
        case .comments: try await uncount("comment_count", "comments", "author_id")
        // An author's look at their own segment never counted as a view.
        case .views: try await uncount("view_count", "views", "viewer_id", ownToo: false)
        case .shares: try await uncount("share_count", "shares", "account_id")
        case .follows: try await deleteEither("follows", "follower_id", "followee_id")
        case .closeFriends: try await deleteEither("close_friends", "owner_id", "friend_id")
        case .blocks: try await deleteEither("blocks", "blocker_id", "blocked_id")
        case .hiddenFrom: try await deleteEither("hidden_from", "owner_id", "viewer_id")
        case .mutes: try await deleteEither("mutes", "owner_id", "muted_id")
        case .profileViews: try await deleteEither("profile_views", "viewer_id", "profile_id")
        }
    }

    /// When the last legal hold on the author's removed segments ends, if any is held past `now` and nothing
    /// else of theirs is left to purge; the account's removal waits for it.
    public func legalHoldEnd(authorID: String, now: Instant) async throws -> Instant? {
        try await database.withConnection { sql in
            let unheld = try await sql.raw("""
                SELECT COUNT(*) AS n FROM segments s LEFT JOIN takedowns t ON t.segment_id = s.id
                WHERE s.author_id = \(bind: authorID)
                AND NOT (s.state = 'removed' AND t.hold_until IS NOT NULL AND t.hold_until > \(bind: now.milliseconds))
                """).first()?.decode(column: "n", as: Int.self) ?? 0
            guard unheld == 0 else { return nil }
            return try await sql.raw("""
                SELECT MAX(t.hold_until) AS until FROM segments s JOIN takedowns t ON t.segment_id = s.id
                WHERE s.author_id = \(bind: authorID) AND s.state = 'removed'
                """).first()?.decode(column: "until", as: Int64?.self).map(Instant.init(milliseconds:))
        }
    }

    /// Removes the account row (and with it, by cascade, its sessions, graph edges, the views it made, its
    /// uploads and receipts) once none of its segments remain. Returns false while some are still purging.
    public func finishAccountDeletion(accountID: String) async throws -> Bool {
        try await database.transaction(affectingSessions: true) { sql in
            let remaining = try await sql.raw("SELECT COUNT(*) AS n FROM segments WHERE author_id = \(bind: accountID)")
                .first()?.decode(column: "n", as: Int.self) ?? 0
            guard remaining == 0 else { return false }
            try await sql.raw("DELETE FROM purge_log WHERE author_id = \(bind: accountID)").run()
            try await sql.raw("DELETE FROM accounts WHERE id = \(bind: accountID)").run()
            return true
        }
    }
}
