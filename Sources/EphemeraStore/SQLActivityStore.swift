import EphemeraCore
import SQLKit

/// The activity inbox, read straight from likes, reactions, replies, comments, shares and follows: purging a segment or deleting
/// an account removes its activity with it, with nothing separate to forget.
public struct SQLActivityStore: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    func union(for me: String) -> SQLQueryString {
        """
        SELECT 'like:' || l.segment_id || ':' || l.account_id AS id, 'like' AS kind, l.account_id AS actor_id,
          l.segment_id AS segment_id, CAST(NULL AS TEXT) AS text, l.created_at AS created_at
          FROM likes l JOIN segments s ON s.id = l.segment_id WHERE s.author_id = \(bind: me) AND l.account_id <> \(bind: me)
        UNION ALL
        SELECT 'reaction:' || r.segment_id || ':' || r.account_id, 'reaction', r.account_id, r.segment_id, r.emoji, r.created_at
          FROM reactions r JOIN segments s ON s.id = r.segment_id WHERE s.author_id = \(bind: me) AND r.account_id <> \(bind: me)
        UNION ALL
        SELECT 'reply:' || rp.id, 'reply', rp.author_id, rp.segment_id, rp.text, rp.created_at
          FROM replies rp JOIN segments s ON s.id = rp.segment_id WHERE s.author_id = \(bind: me) AND rp.author_id <> \(bind: me)
        UNION ALL
        SELECT 'comment:' || c.id, 'comment', c.author_id, c.segment_id, c.text, c.created_at
          FROM comments c JOIN segments s ON s.id = c.segment_id WHERE s.author_id = \(bind: me) AND c.author_id <> \(bind: me)
        UNION ALL
        SELECT 'share:' || sh.id, 'share', sh.account_id, sh.segment_id, CAST(NULL AS TEXT), sh.created_at
          FROM shares sh JOIN segments s ON s.id = sh.segment_id WHERE s.author_id = \(bind: me) AND sh.account_id <> \(bind: me)
        UNION ALL
        SELECT 'follow:' || f.follower_id, 'follow', f.follower_id, CAST(NULL AS TEXT), CAST(NULL AS TEXT), f.created_at
          FROM follows f WHERE f.followee_id = \(bind: me)
        UNION ALL
        SELECT 'takedown:' || t.segment_id, 'takedown', s.author_id, t.segment_id, t.reason, t.created_at
          FROM takedowns t JOIN segments s ON s.id = t.segment_id WHERE s.author_id = \(bind: me)
        UNION ALL
        SELECT 'appeal:' || ap.id, 'appeal_' || ap.decision, s.author_id, ap.segment_id, ap.note, ap.decided_at
          FROM appeals ap JOIN segments s ON s.id = ap.segment_id
          WHERE s.author_id = \(bind: me) AND ap.decision IS NOT NULL
        """
    }

    /// Excludes people a block stands between.
    func filters(for me: String) -> SQLQueryString {
        """
        NOT \(SQLVisibility.blockedEitherWay("\(bind: me)", "a.actor_id"))
        """
    }

    /// A page of my activity, newest first.
    public func activity(for me: String, limit: Int, after cursor: PageCursor?) async throws -> Page<ActivityItem> {
        try await database.withReadConnection { sql in
            var query: SQLQueryString = "SELECT * FROM (\(union(for: me))) a WHERE \(filters(for: me))"
            query += Keyset.continuing(after: cursor, instant: "a.created_at", id: "a.id", limit: limit)
            return try Keyset.page(try await sql.raw(query).all(), limit: limit, item: { row in
                ActivityItem(
                    id: try row.decode(column: "id", as: String.self),
                    kind: ActivityItem.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .like,
                    actorID: try row.decode(column: "actor_id", as: String.self),
                    segmentID: try row.decode(column: "segment_id", as: String?.self),
                    text: try row.decode(column: "text", as: String?.self),
                    createdAt: Instant(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
            }) { PageCursor(instant: $0.createdAt.milliseconds, id: $0.id) }
        }
    }

    /// How many items arrived since I last marked the inbox read.
    public func unreadCount(for me: String) async throws -> Int {
        try await database.withConnection { sql in
            try await sql.raw("""
                SELECT COUNT(*) AS n FROM (\(union(for: me))) a WHERE \(filters(for: me))
                AND a.created_at > COALESCE((SELECT activity_seen_at FROM accounts WHERE id = \(bind: me)), -1)
                """).first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Marks everything up to `now` read.
    public func markRead(for me: String, at now: Instant) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("UPDATE accounts SET activity_seen_at = \(bind: now.milliseconds) WHERE id = \(bind: me)").run()
        }
    }

    /// When I last marked the inbox read.
    public func seenAt(for me: String) async throws -> Instant? {
        try await database.withConnection { sql in
            try await sql.raw("SELECT activity_seen_at FROM accounts WHERE id = \(bind: me)").first()?
                .decode(column: "activity_seen_at", as: Int64?.self).map(Instant.init(milliseconds:))
        }
    }
}
