import EphemeraCore
import SQLKit

/// Likes, reactions, replies, comments and the viewer list in SQL. Counters on the segment row change in the same transaction
/// as the rows they count.
public struct SQLInteractionStore: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// Likes (idempotent); returns whether anything changed.
    @discardableResult
    public func like(segmentID: String, accountID: String, at now: Instant) async throws -> Bool {
        try await database.transaction(affectingTrays: false) { sql in
            // Insert-or-nothing in one statement: concurrent likes cannot race into a duplicate key.
            guard try await !sql.raw("""
                INSERT INTO likes (segment_id, account_id, created_at) VALUES (\(bind: segmentID), \(bind: accountID), \(bind: now.milliseconds))
                ON CONFLICT DO NOTHING RETURNING segment_id
                """).all().isEmpty else { return false }
            try await sql.raw("UPDATE segments SET like_count = like_count + 1 WHERE id = \(bind: segmentID)").run()
            return true
        }
    }

    /// Takes a like back (idempotent); returns whether anything changed.
    @discardableResult
    public func unlike(segmentID: String, accountID: String) async throws -> Bool {
        try await database.transaction(affectingTrays: false) { sql in
            guard try await !sql.raw("""
                DELETE FROM likes WHERE segment_id = \(bind: segmentID) AND account_id = \(bind: accountID) RETURNING segment_id
                """).all().isEmpty else { return false }
            try await sql.raw("UPDATE segments SET like_count = like_count - 1 WHERE id = \(bind: segmentID)").run()
            return true
        }
    }

    /// Which of `segmentIDs` the viewer likes.
    public func liked(by viewer: String?, among segmentIDs: [String]) async throws -> Set<String> {
        guard let viewer, !segmentIDs.isEmpty else { return [] }
        return try await database.withConnection { sql in
            Set(try await sql.raw("""
                SELECT segment_id FROM likes WHERE account_id = \(bind: viewer) AND segment_id IN (\(binds: segmentIDs))
                """).all().map { try $0.decode(column: "segment_id", as: String.self) })
        }
    }

    // MARK: Reactions and replies

    /// Sets the viewer's reaction to a segment, replacing any earlier one.
    public func react(segmentID: String, accountID: String, emoji: String, at now: Instant) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("""
                INSERT INTO reactions (segment_id, account_id, emoji, created_at)
                VALUES (\(bind: segmentID), \(bind: accountID), \(bind: emoji), \(bind: now.milliseconds))
                ON CONFLICT (segment_id, account_id) DO UPDATE SET emoji = excluded.emoji, created_at = excluded.created_at
                """).run()
        }
    }

    /// Takes the viewer's reaction back (idempotent).
    public func unreact(segmentID: String, accountID: String) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("""
                DELETE FROM reactions WHERE segment_id = \(bind: segmentID) AND account_id = \(bind: accountID)
                """).run()
        }
    }

    /// For each of `segmentIDs` with reactions: how many, and `viewer`'s own, in one query (list reads ask
    /// for both; who may see the count is the caller's rule).
    public func reactions(among segmentIDs: [String], viewer: String?) async throws
        -> [String: (count: Int, mine: String?)]
    {
        guard !segmentIDs.isEmpty else { return [:] }
        return try await database.withConnection { sql in
            var found: [String: (count: Int, mine: String?)] = [:]
            for row in try await sql.raw("""
                SELECT segment_id, COUNT(*) AS n,
                  MAX(CASE WHEN account_id = \(bind: viewer ?? "") THEN emoji END) AS mine
                FROM reactions WHERE segment_id IN (\(binds: segmentIDs)) GROUP BY segment_id
                """).all() {
                found[try row.decode(column: "segment_id", as: String.self)] =
                    (try row.decode(column: "n", as: Int.self), try row.decode(column: "mine", as: String?.self))
            }
            return found
        }
    }

    /// Every reaction to a segment, newest first, with whether each reactor enabled view history.
    public func reactions(segmentID: String) async throws
        -> [(accountID: String, emoji: String, at: Instant, sharesHistory: Bool)]
    {
        try await database.withConnection { sql in
            try await sql.raw("""
                SELECT r.account_id, r.emoji, r.created_at, a.view_history FROM reactions r JOIN accounts a ON a.id = r.account_id
                WHERE r.segment_id = \(bind: segmentID) AND a.deleted_at IS NULL
                ORDER BY r.created_at DESC, r.account_id
                """).all().map {
                (try $0.decode(column: "account_id", as: String.self), try $0.decode(column: "emoji", as: String.self),
                 Instant(milliseconds: try $0.decode(column: "created_at", as: Int64.self)),
                 try $0.decode(column: "view_history", as: Bool.self))
            }
        }
    }

    public func addReply(_ reply: Reply) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("""
                INSERT INTO replies (id, segment_id, author_id, text, created_at) VALUES (\(bind: reply.id),
                \(bind: reply.segmentID), \(bind: reply.authorID), \(bind: reply.text), \(bind: reply.createdAt.milliseconds))
                """).run()
        }
    }

    /// A segment's replies, oldest first: all of them, or those `from` one account.
    public func replies(segmentID: String, from authorID: String?, limit: Int, after cursor: PageCursor?) async throws
        -> Page<Reply>
    {
        try await database.withReadConnection { sql in
            var query: SQLQueryString = """
                SELECT id, segment_id, author_id, text, created_at FROM replies WHERE segment_id = \(bind: segmentID)
                """
            if let authorID { query += " AND author_id = \(bind: authorID)" }
            query += Keyset.continuing(after: cursor, instant: "created_at", id: "id", descending: false, limit: limit)
            return try Keyset.page(try await sql.raw(query).all(), limit: limit, item: { row in
                Reply(id: try row.decode(column: "id", as: String.self),
                      segmentID: try row.decode(column: "segment_id", as: String.self),
                      authorID: try row.decode(column: "author_id", as: String.self),
                      text: try row.decode(column: "text", as: String.self),
                      createdAt: Instant(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
            }) { PageCursor(instant: $0.createdAt.milliseconds, id: $0.id) }
        }
    }

    public func addComment(_ comment: Comment) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("""
                INSERT INTO comments (id, segment_id, author_id, text, created_at) VALUES (\(bind: comment.id),
                \(bind: comment.segmentID), \(bind: comment.authorID), \(bind: comment.text), \(bind: comment.createdAt.milliseconds))
                """).run()
            try await sql.raw("UPDATE segments SET comment_count = comment_count + 1 WHERE id = \(bind: comment.segmentID)").run()
        }
    }

    public func comment(id: String) async throws -> Comment? {
        try await database.withConnection { sql in
            try await sql.raw("SELECT id, segment_id, author_id, text, created_at FROM comments WHERE id = \(bind: id)")
                .first().map(Self.comment(from:))
        }
    }

    /// Removes a comment; returns whether it existed.
    @discardableResult
    public func deleteComment(id: String) async throws -> Bool {
        try await database.transaction(affectingTrays: false) { sql in
            guard let row = try await sql.raw("SELECT segment_id FROM comments WHERE id = \(bind: id)").first() else {
                return false
            }
            let segmentID = try row.decode(column: "segment_id", as: String.self)
            try await sql.raw("DELETE FROM comments WHERE id = \(bind: id)").run()
            try await sql.raw("UPDATE segments SET comment_count = comment_count - 1 WHERE id = \(bind: segmentID)").run()
            return true
        }
    }

    /// A segment's comments, oldest first.
    public func comments(segmentID: String, limit: Int, after cursor: PageCursor?) async throws -> Page<Comment> {
        try await database.withReadConnection { sql in
            var query: SQLQueryString = """
                SELECT id, segment_id, author_id, text, created_at FROM comments WHERE segment_id = \(bind: segmentID)
                """
            query += Keyset.continuing(after: cursor, instant: "created_at", id: "id", descending: false, limit: limit)
            return try Keyset.page(try await sql.raw(query).all(), limit: limit, item: Self.comment(from:)) {
                PageCursor(instant: $0.createdAt.milliseconds, id: $0.id)
            }
        }
    }

    /// Everyone who viewed a segment (the author's own looks excluded), newest first, with whether each
    /// enabled view history.
    public func viewers(segmentID: String, authorID: String) async throws
        -> [(accountID: String, viewedAt: Instant, sharesHistory: Bool)]
    {
        try await database.withConnection { sql in
            try await sql.raw("""
                SELECT v.viewer_id, v.viewed_at, a.view_history FROM views v JOIN accounts a ON a.id = v.viewer_id
                WHERE v.segment_id = \(bind: segmentID) AND v.viewer_id <> \(bind: authorID)
                ORDER BY v.viewed_at DESC, v.viewer_id
                """).all().map {
                (try $0.decode(column: "viewer_id", as: String.self),
                 Instant(milliseconds: try $0.decode(column: "viewed_at", as: Int64.self)),
                 try $0.decode(column: "view_history", as: Bool.self))
            }
        }
    }

    static func comment(from row: any SQLRow) throws -> Comment {
        Comment(
            id: try row.decode(column: "id", as: String.self),
            segmentID: try row.decode(column: "segment_id", as: String.self),
            authorID: try row.decode(column: "author_id", as: String.self),
            text: try row.decode(column: "text", as: String.self),
            createdAt: Instant(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
    }
}
