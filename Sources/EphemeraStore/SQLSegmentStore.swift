import EphemeraCore
import SQLKit

/// A completed resumable upload was already turned into a post (by a request that raced this one).
public struct ResumableUploadAlreadyPosted: Error, Sendable {}

/// Segments, uploads and views in SQL.
public struct SQLSegmentStore: Sendable {
    public let database: Database
    let viewBatcher: ViewBatcher

    public init(database: Database) {
        self.database = database
        // SQLite takes one writer at a time; PostgreSQL commits several transactions at once, so there a batch
        // need not wait for the previous one's round trips and commit. Two, not more: each lane makes batches
        // smaller, and PostgreSQL's CPU per view (parse, plan, round trips per statement) then grows (10 s runs:
        // 5,738-6,798/s with two lanes, 5,291-5,972/s with four).
        self.viewBatcher = ViewBatcher(lanes: database.dialect == .postgres ? 2 : 1) {
            try await SQLSegmentStore.insertViews($0, database: database)
        }
    }

    static let columns: SQLQueryString = """
        s.id, s.author_id, s.upload_id, s.position, s.kind, s.state, s.audience, s.caption, s.created_at, \
        s.expires_at, s.duration_ms, s.width, s.height, s.failure_reason, s.deleted_at, s.restorable_until, \
        s.media_tag, s.view_count, s.like_count, s.comment_count, s.share_count, s.download_count, s.discarded_at, \
        s.alt_text, s.allow_comments, s.allow_downloads, s.publish_at
        """

    // MARK: Writing

    /// Records an upload, its `processing` segments and the job that will process them (due at once), in one
    /// transaction.
    /// When a completed tus upload becomes this post (`completing`), its row records that in the same
    /// transaction, so it becomes exactly one post even if two requests race or the server dies midway.
    public func createUpload(_ upload: UploadRecord, segments: [Segment], completing resumableID: String? = nil)
        async throws
    {
        try await database.transaction { sql in
            if let resumableID {
                let claimed = try await sql.raw("""
                    UPDATE resumable_uploads SET post_id = \(bind: upload.id), metadata = ''
                    WHERE id = \(bind: resumableID) AND post_id IS NULL AND failure_code IS NULL RETURNING id
                    """).all()
                guard !claimed.isEmpty else { throw ResumableUploadAlreadyPosted() }
            }
            try await sql.raw("""
                INSERT INTO uploads (id, author_id, source_file, plan, created_at) VALUES (\(bind: upload.id),
                \(bind: upload.authorID), \(bind: upload.sourceFile), \(bind: upload.plan), \(bind: upload.createdAt.milliseconds))
                """).run()
            for s in segments {
                try await sql.raw("""
                    INSERT INTO segments (id, author_id, upload_id, position, kind, state, audience, caption,
                    created_at, expires_at, duration_ms, width, height, alt_text, allow_comments, allow_downloads, publish_at) VALUES (\(bind: s.id), \(bind: s.authorID),
                    \(bind: s.uploadID), \(bind: s.position), \(bind: s.kind.rawValue), \(bind: s.state.rawValue),
                    \(bind: s.audience.rawValue), \(bind: s.caption), \(bind: s.createdAt.milliseconds),
                    \(bind: s.expiresAt.milliseconds), \(bind: s.durationMilliseconds), \(bind: s.width), \(bind: s.height),
                    \(bind: s.altText), \(bind: s.allowComments), \(bind: s.allowDownloads), \(bind: s.publishAt?.milliseconds))
                    """).run()
            }
            try await SQLJobQueue.insert(.processUpload(uploadID: upload.id), runAt: upload.createdAt, on: sql)
        }
    }

    public func upload(id: String) async throws -> UploadRecord? {
        try await database.withConnection { sql in
            guard let row = try await sql.raw(
                "SELECT id, author_id, source_file, plan, created_at FROM uploads WHERE id = \(bind: id)").first()
            else { return nil }
            return UploadRecord(
                id: try row.decode(column: "id", as: String.self),
                authorID: try row.decode(column: "author_id", as: String.self),
                sourceFile: try row.decode(column: "source_file", as: String.self),
                plan: try row.decode(column: "plan", as: String.self),
                createdAt: Instant(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
        }
    }

    /// The source files of every upload still recorded; anything else in the incoming area is residue.
    public func uploadSourceFiles() async throws -> Set<String> {
        try await database.withConnection { sql in
            Set(try await sql.raw("SELECT source_file FROM uploads").all()
                .map { try $0.decode(column: "source_file", as: String.self) })
        }
    }

    public func deleteUpload(id: String) async throws {
        try await database.transaction { sql in
            try await sql.raw("DELETE FROM uploads WHERE id = \(bind: id)").run()
        }
    }

    /// `processing` → `live` once the media is stored, with what processing measured. Returns false if the
    /// segment was no longer processing (then nothing changes).
    @discardableResult
    public func markProcessed(id: String, durationMilliseconds: Int64, width: Int, height: Int, mediaTag: String)
        async throws -> Bool
    {
        try await transition(id: id, event: .processed) { sql, _ in
            """
            duration_ms = \(bind: durationMilliseconds), width = \(bind: width), height = \(bind: height),
            media_tag = \(bind: mediaTag), failure_reason = NULL
            """
        }
    }

    /// `processing` → `failed`, with a reason the author can read.
    @discardableResult
    public func markFailed(id: String, reason: String) async throws -> Bool {
        try await transition(id: id, event: .processingFailed) { _, _ in "failure_reason = \(bind: reason)" }
    }

    /// Applies a lifecycle event through `Lifecycle`, conditionally on the state read in the same transaction.
    /// `extra` adds column assignments. Returns false when the event does not apply to the current state.
    @discardableResult
    public func transition(
        id: String, event: LifecycleEvent, now: Instant? = nil,
        extra: (@Sendable (any SQLDatabase, Segment) -> SQLQueryString)? = nil
    ) async throws -> Bool {
        try await database.transaction { sql in
            guard let segment = try await Self.segment(id: id, on: sql) else { return false }
            let expired = now.map { segment.isExpired(at: $0) } ?? false
            guard let next = Lifecycle.next(after: segment.state, on: event, expired: expired) else { return false }
            return try await Self.move(segment, to: next, setting: extra?(sql, segment), on: sql)
        }
    }

    /// Writes the state `Lifecycle` decided for `segment` (read in the same transaction), only while the row is
    /// still in the state that decision was made from; returns false when a concurrent write changed it first.
    static func move(_ segment: Segment, to next: SegmentState, setting extra: SQLQueryString? = nil,
                     on sql: any SQLDatabase) async throws -> Bool {
        var assignments: SQLQueryString = "state = \(bind: next.rawValue)"
        if let extra { assignments += ", " + extra }
        return try await !sql.raw("""
            UPDATE segments SET \(assignments) WHERE id = \(bind: segment.id) AND state = \(bind: segment.state.rawValue)
            RETURNING id
            """).all().isEmpty
    }

    /// Like `move`, for a person's request: a lost race is a conflict they can retry.
    static func moveOrConflict(_ segment: Segment, to next: SegmentState, setting extra: SQLQueryString? = nil,
                               on sql: any SQLDatabase) async throws {
        guard try await move(segment, to: next, setting: extra, on: sql) else {
            throw EphemeraError.conflict("state_changed",
                                         "This story segment changed while you were acting on it. Reload it and try again.")
        }
    }

    // MARK: Reading

    /// Writes an author's edit of a segment that is still editable (`SegmentEdit.isEditable`) and returns it as
    /// stored; nil when it is not (any more). A tray-affecting transaction: an audience change reaches every
    /// cached tray and visibility check at once (`Database.transaction`).
    public func edit(id: String, authorID: String, _ edit: SegmentEdit) async throws -> Segment? {
        // Only the fields the edit names are written, so two edits of different fields at once both land.
        var assignments: [SQLQueryString] = []
        if let caption = edit.caption { assignments.append("caption = \(bind: caption.isEmpty ? nil : caption)") }
        if let altText = edit.altText { assignments.append("alt_text = \(bind: altText.isEmpty ? nil : altText)") }
        if let audience = edit.audience { assignments.append("audience = \(bind: audience.rawValue)") }
        if let allow = edit.allowComments { assignments.append("allow_comments = \(bind: allow)") }
        if let allow = edit.allowDownloads { assignments.append("allow_downloads = \(bind: allow)") }
        let editable = SegmentState.allCases.filter(SegmentEdit.isEditable).map(\.rawValue)
        return try await database.transaction { sql in
            if !assignments.isEmpty {
                let updated = try await sql.raw("""
                    UPDATE segments SET \(assignments.joined(separator: ", "))
                    WHERE id = \(bind: id) AND author_id = \(bind: authorID) AND state IN (\(binds: editable)) RETURNING id
                    """).all()
                guard !updated.isEmpty else { return nil }
            }
            guard let segment = try await Self.segment(id: id, on: sql), segment.authorID == authorID,
                  SegmentEdit.isEditable(segment.state) else { return nil }
            return segment
        }
    }

    public func segment(id: String) async throws -> Segment? {
        try await database.withConnection { sql in try await Self.segment(id: id, on: sql) }
    }

    /// The segment from `Database.visibilityCache` while nothing that could change its state was written on
    /// this node (at most its `maxAge` old); for recording views only — every read asks the database.
    public func segmentForView(id: String) async throws -> Segment? {
        let generation = database.trayCache.generation
        if let segment = database.visibilityCache.segment(id, generation: generation) { return segment }
        guard let segment = try await segment(id: id) else { return nil }
        database.visibilityCache.store(segment, generation: generation)
        return segment
    }

    /// The segments of `ids` that exist, by id.
    public func segments(ids: [String]) async throws -> [String: Segment] {
        guard !ids.isEmpty else { return [:] }
        return try await database.withConnection { sql in
            var found: [String: Segment] = [:]
            for row in try await sql.raw("SELECT \(Self.columns) FROM segments s WHERE s.id IN (\(binds: ids))").all() {
                let segment = try Self.segment(from: row)
                found[segment.id] = segment
            }
            return found
        }
    }

    static func segment(id: String, on sql: any SQLDatabase) async throws -> Segment? {
        try await sql.raw("SELECT \(columns) FROM segments s WHERE s.id = \(bind: id)").first().map(segment(from:))
    }

    public func segments(uploadID: String) async throws -> [Segment] {
        try await database.withConnection { sql in
            try await sql.raw("""
                SELECT \(Self.columns) FROM segments s WHERE s.upload_id = \(bind: uploadID) ORDER BY s.position
                """).all().map(Self.segment(from:))
        }
    }

    /// Every segment of the author that is not being purged, oldest first (exports).
    public func segments(authorID: String) async throws -> [Segment] {
        try await database.withConnection { sql in
            try await sql.raw("""
                SELECT \(Self.columns) FROM segments s WHERE s.author_id = \(bind: authorID) AND s.state <> 'purging'
                ORDER BY s.created_at, s.position, s.id
                """).all().map(Self.segment(from:))
        }
    }

    /// The author's segments visible to `viewer` at `now`, oldest first: their story.
    public func story(authorID: String, viewer: String?, now: Instant) async throws -> [Segment] {
        try await database.withReadConnection { sql in
            try await sql.raw("""
                SELECT \(Self.columns) FROM segments s WHERE s.author_id = \(bind: authorID)
                AND \(SQLVisibility.predicate(viewer: viewer, now: now))
                ORDER BY s.created_at, s.position, s.id
                """).all().map(Self.segment(from:))
        }
    }

    /// Which of `segmentIDs` the viewer has seen.
    public func seen(by viewer: String?, among segmentIDs: [String]) async throws -> Set<String> {
        guard let viewer, !segmentIDs.isEmpty else { return [] }
        return try await database.withConnection { sql in
            Set(try await sql.raw("""
                SELECT segment_id FROM views WHERE viewer_id = \(bind: viewer) AND segment_id IN (\(binds: segmentIDs))
                """).all().map { try $0.decode(column: "segment_id", as: String.self) })
        }
    }

    /// The viewer's tray: every followed author (and the viewer) with a visible story, in `trayOrder`.
    /// Always from the primary: the tray is cached per node and invalidated by change notifications sent at
    /// commit, before a replica has replayed the write, so a tray read from the replica could be cached stale.
    public func tray(viewer: String, now: Instant) async throws -> [TrayEntry] {
        let entries = try await database.withConnection { sql in
            try await sql.raw("""
                SELECT s.author_id, MAX(s.created_at) AS latest, COUNT(*) AS n, MIN(s.expires_at) AS first_expiry,
                  SUM(CASE WHEN v.viewer_id IS NULL THEN 1 ELSE 0 END) AS unseen,
                  MAX(CASE WHEN m.muted_id IS NULL THEN 0 ELSE 1 END) AS muted
                FROM segments s
                LEFT JOIN views v ON v.segment_id = s.id AND v.viewer_id = \(bind: viewer)
                LEFT JOIN mutes m ON m.owner_id = \(bind: viewer) AND m.muted_id = s.author_id
                WHERE (s.author_id = \(bind: viewer) OR s.author_id IN
                    (SELECT followee_id FROM follows WHERE follower_id = \(bind: viewer)))
                AND \(SQLVisibility.predicate(viewer: viewer, now: now))
                GROUP BY s.author_id
                """).all().map { row in
                TrayEntry(
                    authorID: try row.decode(column: "author_id", as: String.self),
                    latestAt: Instant(milliseconds: try row.decode(column: "latest", as: Int64.self)),
                    segmentCount: try row.decode(column: "n", as: Int.self),
                    unseenCount: try row.decode(column: "unseen", as: Int.self),
                    firstExpiry: Instant(milliseconds: try row.decode(column: "first_expiry", as: Int64.self)),
                    muted: try row.decode(column: "muted", as: Int.self) == 1)
            }
        }
        return trayOrder(entries)
    }

    /// The next `publish_at` after `now` among the segments of `viewer` and those they follow: the tray may change
    /// then without any write.
    public func nextPublish(viewer: String, now: Instant) async throws -> Instant? {
        try await database.withConnection { sql in
            try await sql.raw("""
                SELECT MIN(publish_at) AS next FROM segments
                WHERE publish_at > \(bind: now.milliseconds) AND state IN ('live', 'processing')
                AND (author_id = \(bind: viewer) OR author_id IN (SELECT followee_id FROM follows WHERE follower_id = \(bind: viewer)))
                """).first()?.decode(column: "next", as: Int64?.self).map(Instant.init(milliseconds:))
        }
    }

    /// An author's segments waiting for their `publish_at`, soonest first.
    public func scheduled(authorID: String, now: Instant) async throws -> [Segment] {
        try await database.withConnection { sql in
            try await sql.raw("""
                SELECT \(Self.columns) FROM segments s WHERE s.author_id = \(bind: authorID)
                AND s.publish_at > \(bind: now.milliseconds) AND s.state IN ('live', 'processing')
                ORDER BY s.publish_at, s.id
                """).all().map(Self.segment(from:))
        }
    }

    /// The ring of one author's story for `viewer`.
    public func ring(authorID: String, viewer: String?, now: Instant) async throws -> StoryRing {
        try await database.withReadConnection { sql in
            let viewerID = viewer ?? ""
            guard let row = try await sql.raw("""
                SELECT COUNT(*) AS n, SUM(CASE WHEN v.viewer_id IS NULL THEN 1 ELSE 0 END) AS unseen
                FROM segments s LEFT JOIN views v ON v.segment_id = s.id AND v.viewer_id = \(bind: viewerID)
                WHERE s.author_id = \(bind: authorID) AND \(SQLVisibility.predicate(viewer: viewer, now: now))
                """).first() else { return StoryRing.none }
            let count = try row.decode(column: "n", as: Int.self)
            let unseen = count == 0 ? 0 : try row.decode(column: "unseen", as: Int?.self) ?? 0
            return StoryRing(visibleSegments: count, unseenSegments: unseen)
        }
    }

    /// Public stories for discovery, ranked by engagement per hour since posting, excluding the viewer's own,
    /// those of authors the viewer muted, and anyone a block or hide separates from the viewer. The ranking is taken as of the first page's
    /// instant (`cursor.asOf`): only likes, comments and views up to then count, so later activity cannot
    /// reorder pages already handed out — the pages neither repeat nor skip a segment.
    public func forYou(viewer: String?, now: Instant, limit: Int, after cursor: RankedCursor?) async throws
        -> Page<Segment>
    {
        let asOf = cursor?.asOf ?? now
        let at = asOf.milliseconds
        return try await database.withReadConnection { sql in
            var inner: SQLQueryString = """
                SELECT \(Self.columns), CAST(1.0
                  + 3.0 * (SELECT COUNT(*) FROM likes l WHERE l.segment_id = s.id AND l.created_at <= \(bind: at))
                  + 4.0 * (SELECT COUNT(*) FROM comments c WHERE c.segment_id = s.id AND c.created_at <= \(bind: at))
                  + 1.0 * (SELECT COUNT(*) FROM views v WHERE v.segment_id = s.id AND v.viewed_at <= \(bind: at))
                  AS DOUBLE PRECISION)
                  / (CAST(\(bind: at) - s.created_at AS DOUBLE PRECISION) / 3600000.0 + 2.0) AS score
                FROM segments s WHERE s.audience = 'public' AND s.created_at <= \(bind: at)
                AND \(SQLVisibility.predicate(viewer: viewer, now: now))
                """
            if let viewer {
                inner += """
                     AND s.author_id <> \(bind: viewer) AND NOT EXISTS
                    (SELECT 1 FROM mutes m WHERE m.owner_id = \(bind: viewer) AND m.muted_id = s.author_id)
                    """
            }
            var query: SQLQueryString = "SELECT * FROM (\(inner)) ranked"
            if let cursor {
                query += """
                     WHERE (score < \(bind: cursor.score) OR (score = \(bind: cursor.score) AND id < \(bind: cursor.id)))
                    """
            }
            query += " ORDER BY score DESC, id DESC LIMIT \(literal: limit + 1)"
            let rows = try await sql.raw(query).all()
            let segments = try rows.prefix(limit).map(Self.segment(from:))
            var next: String?
            if rows.count > limit, let last = rows.prefix(limit).last {
                next = RankedCursor(asOf: asOf, score: try last.decode(column: "score", as: Double.self),
                                    id: try last.decode(column: "id", as: String.self)).encoded
            }
            return Page(items: segments, nextCursor: next)
        }
    }

    /// The author's expired segments kept in their archive, newest first.
    public func archive(authorID: String, limit: Int, after cursor: PageCursor?) async throws -> Page<Segment> {
        try await database.withReadConnection { sql in
            var query: SQLQueryString = """
                SELECT \(Self.columns) FROM segments s WHERE s.author_id = \(bind: authorID) AND s.state = 'archived'
                """
            query += Self.newestFirst(after: cursor, limit: limit)
            return try Self.page(try await sql.raw(query).all(), limit: limit)
        }
    }

    /// The author's archived segments posted within any of `spans` (start inclusive, end exclusive), oldest
    /// first: a day of the archive, or the same date in earlier years.
    public func archived(authorID: String, within spans: [(start: Instant, end: Instant)]) async throws -> [Segment] {
        guard !spans.isEmpty else { return [] }
        let within = spans.map { span -> SQLQueryString in
            "(s.created_at >= \(bind: span.start.milliseconds) AND s.created_at < \(bind: span.end.milliseconds))"
        }
        return try await database.withReadConnection { sql in
            try await sql.raw("""
                SELECT \(Self.columns) FROM segments s WHERE s.author_id = \(bind: authorID) AND s.state = 'archived'
                AND (
                """ + within.joined(separator: " OR ") + ") ORDER BY s.created_at, s.position, s.id").all().map(Self.segment(from:))
        }
    }

    static func newestFirst(after cursor: PageCursor?, limit: Int) -> SQLQueryString {
        Keyset.continuing(after: cursor, instant: "s.created_at", id: "s.id", limit: limit)
    }

    static func page(_ rows: [any SQLRow], limit: Int) throws -> Page<Segment> {
        try Keyset.page(rows, limit: limit, item: segment(from:)) { PageCursor(instant: $0.createdAt.milliseconds, id: $0.id) }
    }

    /// Records that `viewer` saw the segment; a second view changes nothing. Returns whether it was new.
    /// `counted` is false for the author's own look, which marks it seen without adding a view. Concurrent
    /// views are committed together (`ViewBatcher`); each call returns once its view is durable.
    @discardableResult
    public func recordView(segmentID: String, viewer: String, counted: Bool, at now: Instant) async throws -> Bool {
        try await viewBatcher.record(ViewRecord(segmentID: segmentID, viewerID: viewer, counted: counted, at: now))
    }

    /// Writes a batch of distinct views in one transaction; returns those that were new.
    static func insertViews(_ views: [ViewRecord], database: Database) async throws -> Set<ViewBatcher.ViewKey> {
        // A fixed order, so two nodes writing overlapping batches into PostgreSQL cannot deadlock.
        let views = views.sorted { ($0.segmentID, $0.viewerID) < ($1.segmentID, $1.viewerID) }
        // A view changes only its viewer's rings: drop their cached tray (on every node), not everyone's.
        // The notice follows the commit, so concurrent batches on PostgreSQL share WAL flushes (`transaction`).
        return try await database.transaction(affectingTrays: false, viewers: Set(views.map(\.viewerID)),
                                              noticeAfterCommit: true) { sql in
            // One statement decides, so two requests for the same view at once cannot both insert (a check
            // then an insert raced into a duplicate key on PostgreSQL under load).
            var insert: SQLQueryString = "INSERT INTO views (segment_id, viewer_id, viewed_at) VALUES "
            for (index, view) in views.enumerated() {
                if index > 0 { insert += ", " }
                insert += "(\(bind: view.segmentID), \(bind: view.viewerID), \(bind: view.at.milliseconds))"
            }
            insert += " ON CONFLICT DO NOTHING RETURNING segment_id, viewer_id"
            let inserted = Set(try await sql.raw(insert).all().map {
                ViewBatcher.ViewKey(segmentID: try $0.decode(column: "segment_id", as: String.self),
                                    viewerID: try $0.decode(column: "viewer_id", as: String.self))
            })
            // Every counted view is an impression (a viewer back on a segment they saw is shown it again); the
            // new ones are views too.
            var counts: [String: (views: Int, impressions: Int)] = [:]
            for view in views where view.counted {
                let new = inserted.contains(ViewBatcher.ViewKey(segmentID: view.segmentID, viewerID: view.viewerID))
                counts[view.segmentID, default: (0, 0)].impressions += 1
                if new { counts[view.segmentID, default: (0, 0)].views += 1 }
            }
            if !counts.isEmpty {
                // One statement for the batch, not a round trip per segment.
                let ordered = counts.sorted(by: { $0.key < $1.key })
                var update: SQLQueryString = "UPDATE segments SET view_count = view_count + CASE id"
                for (segmentID, count) in ordered { update += " WHEN \(bind: segmentID) THEN \(literal: count.views)" }
                update += " ELSE 0 END, impression_count = impression_count + CASE id"
                for (segmentID, count) in ordered { update += " WHEN \(bind: segmentID) THEN \(literal: count.impressions)" }
                update += " ELSE 0 END WHERE id IN (\(binds: counts.keys.sorted()))"
                try await sql.raw(update).run()
            }
            return inserted
        }
    }

    /// Adds a report of navigation events to the segment's counters (nothing about who sent it is kept).
    public func countNavigation(segmentID: String, _ tally: [NavigationEvent: Int]) async throws {
        guard !tally.isEmpty else { return }
        let columns: [NavigationEvent: String] = [
            .forward: "tap_forward_count", .back: "tap_back_count", .exit: "exit_count", .complete: "completion_count",
        ]
        let sets: [SQLQueryString] = tally.sorted { $0.key.rawValue < $1.key.rawValue }.compactMap { event, count in
            columns[event].map { "\(ident: $0) = \(ident: $0) + \(literal: count)" }
        }
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("UPDATE segments SET " + sets.joined(separator: ", ") + " WHERE id = \(bind: segmentID)").run()
        }
    }

    /// The author's insights of `segment`: its counters, its replies and reactions counted, and its distinct
    /// viewers by hour since it went live.
    public func insights(of segment: Segment, now: Instant) async throws -> SegmentInsights {
        try await database.withConnection { sql in
            guard let row = try await sql.raw("""
                SELECT s.impression_count, s.tap_forward_count, s.tap_back_count, s.exit_count, s.completion_count,
                  (SELECT COUNT(*) FROM replies r WHERE r.segment_id = s.id) AS replies,
                  (SELECT COUNT(*) FROM reactions x WHERE x.segment_id = s.id) AS reactions
                FROM segments s WHERE s.id = \(bind: segment.id)
                """).first() else { throw EphemeraError.storyNotFound }
            let viewedAt = try await sql.raw("""
                SELECT viewed_at FROM views WHERE segment_id = \(bind: segment.id) AND viewer_id <> \(bind: segment.authorID)
                """).all().map { Instant(milliseconds: try $0.decode(column: "viewed_at", as: Int64.self)) }
            let liveAt = segment.publishAt ?? segment.createdAt
            return SegmentInsights(
                impressions: try row.decode(column: "impression_count", as: Int.self), reach: segment.viewCount,
                tapsForward: try row.decode(column: "tap_forward_count", as: Int.self),
                tapsBack: try row.decode(column: "tap_back_count", as: Int.self),
                exits: try row.decode(column: "exit_count", as: Int.self),
                completions: try row.decode(column: "completion_count", as: Int.self),
                replies: try row.decode(column: "replies", as: Int.self),
                reactions: try row.decode(column: "reactions", as: Int.self),
                shares: segment.shareCount, downloads: segment.downloadCount,
                viewsByHour: SegmentInsights.viewsByHour(viewedAt, liveAt: liveAt, until: min(now, segment.expiresAt)))
        }
    }

    public func countDownload(segmentID: String) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("UPDATE segments SET download_count = download_count + 1 WHERE id = \(bind: segmentID)").run()
        }
    }

    /// The state and kind of every segment row, for audits.
    public func allSegmentStates() async throws -> [String: (state: SegmentState, kind: SegmentKind)] {
        try await database.withConnection { sql in
            var result: [String: (SegmentState, SegmentKind)] = [:]
            for row in try await sql.raw("SELECT id, state, kind FROM segments").all() {
                result[try row.decode(column: "id", as: String.self)] = (
                    SegmentState(rawValue: try row.decode(column: "state", as: String.self)) ?? .failed,
                    SegmentKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .photo)
            }
            return result
        }
    }

    static func segment(from row: any SQLRow) throws -> Segment {
        func instant(_ column: String) throws -> Instant? {
            try row.decode(column: column, as: Int64?.self).map(Instant.init(milliseconds:))
        }
        return Segment(
            id: try row.decode(column: "id", as: String.self),
            authorID: try row.decode(column: "author_id", as: String.self),
            kind: SegmentKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .photo,
            state: SegmentState(rawValue: try row.decode(column: "state", as: String.self)) ?? .failed,
            audience: Audience(rawValue: try row.decode(column: "audience", as: String.self)) ?? .closeFriends,
            caption: try row.decode(column: "caption", as: String?.self),
            createdAt: Instant(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            expiresAt: Instant(milliseconds: try row.decode(column: "expires_at", as: Int64.self)),
            durationMilliseconds: try row.decode(column: "duration_ms", as: Int64.self),
            width: try row.decode(column: "width", as: Int.self),
            height: try row.decode(column: "height", as: Int.self),
            failureReason: try row.decode(column: "failure_reason", as: String?.self),
            deletedAt: try instant("deleted_at"),
            restorableUntil: try instant("restorable_until"),
            mediaTag: try row.decode(column: "media_tag", as: String?.self),
            uploadID: try row.decode(column: "upload_id", as: String.self),
            position: try row.decode(column: "position", as: Int.self),
            viewCount: try row.decode(column: "view_count", as: Int.self),
            likeCount: try row.decode(column: "like_count", as: Int.self),
            commentCount: try row.decode(column: "comment_count", as: Int.self),
            shareCount: try row.decode(column: "share_count", as: Int.self),
            downloadCount: try row.decode(column: "download_count", as: Int.self),
            discardedAt: try instant("discarded_at"),
            altText: try row.decode(column: "alt_text", as: String?.self),
            allowComments: try row.decode(column: "allow_comments", as: Bool?.self),
            allowDownloads: try row.decode(column: "allow_downloads", as: Bool?.self),
            publishAt: try instant("publish_at"))
    }

    /// How many of the author's segments wait for processing (`MediaRules.admitPost`).
    public func processingCount(authorID: String) async throws -> Int {
        try await database.withConnection { sql in
            try await sql.raw("""
                SELECT COUNT(*) AS n FROM segments WHERE author_id = \(bind: authorID) AND state = 'processing'
                """).first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Those of `ids` whose segment still has its row and is not being purged (the erasure ledger's replay).
    public func unpurgedSegmentIDs(among ids: [String]) async throws -> [String] {
        var found: [String] = []
        for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
            found += try await database.withConnection { sql in
                try await sql.raw("SELECT id FROM segments WHERE id IN (\(binds: chunk)) AND state <> 'purging'")
                    .all().map { try $0.decode(column: "id", as: String.self) }
            }
        }
        return found
    }
}
