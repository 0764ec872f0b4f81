import EphemeraCore
import SQLKit

/// Follows, close friends, blocks, hidden-from and muted lists in SQL.
public struct SQLGraphStore: Sendable {
    public let database: Database
    /// Relation lookups for recording views that miss the cache, many to a query under load.
    private let viewLookups: Coalescer<Pair, Relations>

    public init(database: Database) {
        self.database = database
        viewLookups = Coalescer(batchLimit: 250, lanes: 2) { pairs in
            do {
                let found = try await Self.relations(Set(pairs), database: database)
                return pairs.map { .success(found[$0] ?? .none) }
            } catch {
                return pairs.map { _ in .failure(error) }
            }
        }
    }

    /// A viewer and an author.
    struct Pair: Hashable, Sendable {
        var viewer: String
        var author: String
    }

    /// A directed relation kept in one two-column table.
    public enum Edge: Sendable, CaseIterable {
        case follow, closeFriend, block, hiddenFrom
        /// Whose stories I put last in my tray; no one else's reads change, and the muted are not told.
        case mute

        var table: String {
            switch self {
            case .follow: "follows"
            case .closeFriend: "close_friends"
            case .block: "blocks"
            case .hiddenFrom: "hidden_from"
            case .mute: "mutes"
            }
        }

        /// (from, to) column names: `from` did something to `to`.
        var columns: (String, String) {
            switch self {
            case .follow: ("follower_id", "followee_id")
            case .closeFriend: ("owner_id", "friend_id")
            case .block: ("blocker_id", "blocked_id")
            case .hiddenFrom: ("owner_id", "viewer_id")
            case .mute: ("owner_id", "muted_id")
            }
        }
    }

    /// Adds `from → to` (idempotent). Following someone in a block with you is refused; blocking removes the
    /// follows and close-friend entries of both sides, in the same transaction.
    public func add(_ edge: Edge, from: String, to: String, at now: Instant) async throws {
        try await database.transaction { sql in
            if edge == .follow || edge == .closeFriend, try await Self.blocked(sql, from, to) {
                throw EphemeraError.userNotFound
            }
            if edge == .block {
                for removed in [Edge.follow, .closeFriend] {
                    let (a, b) = removed.columns
                    try await sql.raw("""
                        DELETE FROM \(ident: removed.table) WHERE (\(ident: a) = \(bind: from) AND \(ident: b) = \(bind: to))
                        OR (\(ident: a) = \(bind: to) AND \(ident: b) = \(bind: from))
                        """).run()
                }
            }
            let (a, b) = edge.columns
            try await sql.raw("""
                INSERT INTO \(ident: edge.table) (\(ident: a), \(ident: b), created_at)
                VALUES (\(bind: from), \(bind: to), \(bind: now.milliseconds)) ON CONFLICT DO NOTHING
                """).run()
        }
    }

    /// Whether `owner` muted `author`.
    public func hasMuted(_ owner: String, _ author: String) async throws -> Bool {
        try await database.withConnection { sql in
            try await sql.raw("""
                SELECT 1 AS one FROM mutes WHERE owner_id = \(bind: owner) AND muted_id = \(bind: author)
                """).first() != nil
        }
    }

    /// Removes `from → to` (idempotent).
    public func remove(_ edge: Edge, from: String, to: String) async throws {
        let (a, b) = edge.columns
        try await database.transaction { sql in
            try await sql.raw("""
                DELETE FROM \(ident: edge.table) WHERE \(ident: a) = \(bind: from) AND \(ident: b) = \(bind: to)
                """).run()
        }
    }

    static func blocked(_ sql: any SQLDatabase, _ x: String, _ y: String) async throws -> Bool {
        try await sql.raw("SELECT 1 AS one WHERE \(SQLVisibility.blockedEitherWay("\(bind: x)", "\(bind: y)"))").first() != nil
    }

    /// The relations between `viewer` and `author` that visibility depends on.
    /// `relations(viewer:author:)` from `Database.visibilityCache` while no graph write happened on this node
    /// (at most its `maxAge` old), else from one query shared with the concurrent lookups; for recording views
    /// only.
    public func relationsForView(viewer: String, author: String) async throws -> Relations {
        guard viewer != author else { return .none }
        let generation = database.trayCache.generation
        if let cached = database.visibilityCache.relations(viewer: viewer, author: author, generation: generation) {
            return cached
        }
        let relations = try await viewLookups.submit(Pair(viewer: viewer, author: author))
        database.visibilityCache.store(relations, viewer: viewer, author: author, generation: generation)
        return relations
    }

    public func relations(viewer: String?, author: String) async throws -> Relations {
        guard let viewer, viewer != author else { return .none }
        let pair = Pair(viewer: viewer, author: author)
        return try await Self.relations([pair], database: database)[pair] ?? .none
    }

    /// The relations of each pair, in one query (`pairs` at most a few hundred: two bound values each).
    static func relations(_ pairs: Set<Pair>, database: Database) async throws -> [Pair: Relations] {
        guard !pairs.isEmpty else { return [:] }
        var query: SQLQueryString = "WITH p (viewer, author) AS (VALUES "
        for (index, pair) in pairs.enumerated() {
            if index > 0 { query += ", " }
            query += "(\(bind: pair.viewer), \(bind: pair.author))"
        }
        query += """
            ) SELECT p.viewer AS viewer, p.author AS author,
              CASE WHEN \(SQLVisibility.blockedEitherWay("p.viewer", "p.author")) THEN 1 ELSE 0 END AS blocked,
              (SELECT COUNT(*) FROM hidden_from h WHERE h.owner_id = p.author AND h.viewer_id = p.viewer) AS hidden,
              (SELECT COUNT(*) FROM follows f WHERE f.follower_id = p.viewer AND f.followee_id = p.author) AS follows,
              (SELECT COUNT(*) FROM close_friends c WHERE c.owner_id = p.author AND c.friend_id = p.viewer) AS close
            FROM p
            """
        return try await database.withConnection { sql in
            var found: [Pair: Relations] = [:]
            for row in try await sql.raw(query).all() {
                let pair = Pair(viewer: try row.decode(column: "viewer", as: String.self),
                                author: try row.decode(column: "author", as: String.self))
                found[pair] = Relations(
                    blocked: try row.decode(column: "blocked", as: Int.self) > 0,
                    hiddenFromViewer: try row.decode(column: "hidden", as: Int.self) > 0,
                    viewerFollowsAuthor: try row.decode(column: "follows", as: Int.self) > 0,
                    viewerIsCloseFriend: try row.decode(column: "close", as: Int.self) > 0)
            }
            return found
        }
    }

    public func followerCount(_ accountID: String) async throws -> Int {
        try await count("SELECT COUNT(*) AS n FROM follows WHERE followee_id = \(bind: accountID)")
    }

    public func followingCount(_ accountID: String) async throws -> Int {
        try await count("SELECT COUNT(*) AS n FROM follows WHERE follower_id = \(bind: accountID)")
    }

    private func count(_ query: SQLQueryString) async throws -> Int {
        try await database.withConnection { sql in
            try await sql.raw(query).first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// A page of the accounts following `accountID` (`followers`) or followed by it, newest relation first.
    public func followPage(of accountID: String, followers: Bool, limit: Int, after cursor: PageCursor?)
        async throws -> Page<String>
    {
        let (mine, other) = followers ? ("followee_id", "follower_id") : ("follower_id", "followee_id")
        return try await database.withReadConnection { sql in
            var query: SQLQueryString = """
                SELECT \(ident: other) AS account_id, created_at FROM follows WHERE \(ident: mine) = \(bind: accountID)
                """
            query += Keyset.continuing(after: cursor, instant: "created_at", id: other, limit: limit)
            let page = try Keyset.page(try await sql.raw(query).all(), limit: limit, item: {
                (try $0.decode(column: "account_id", as: String.self), try $0.decode(column: "created_at", as: Int64.self))
            }) { PageCursor(instant: $0.1, id: $0.0) }
            return Page(items: page.items.map(\.0), nextCursor: page.nextCursor)
        }
    }
}
