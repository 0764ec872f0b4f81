import EphemeraCore
import SQLKit

/// Profile view history: who looked at whose profile, kept only between people who both turned
/// `viewHistory` on, and only for Core's `profileViewWindow` (30 days).
public struct SQLProfileViewStore: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// Records (or refreshes) `viewer` looking at `profile`. The caller asks `isProfileViewRecorded` first.
    public func record(viewer: String, profile: String, at now: Instant) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("DELETE FROM profile_views WHERE profile_id = \(bind: profile) AND viewer_id = \(bind: viewer)").run()
            try await sql.raw("""
                INSERT INTO profile_views (viewer_id, profile_id, viewed_at) VALUES (\(bind: viewer), \(bind: profile), \(bind: now.milliseconds))
                """).run()
        }
    }

    /// Who viewed my profile in the window, newest first — only people who (still) share their history, and
    /// only while I share mine.
    public func viewers(of profile: String, now: Instant, limit: Int, after cursor: PageCursor?) async throws
        -> Page<(accountID: String, viewedAt: Instant)>
    {
        try await database.withConnection { sql in
            var query: SQLQueryString = """
                SELECT p.viewer_id, p.viewed_at FROM profile_views p JOIN accounts a ON a.id = p.viewer_id
                JOIN accounts me ON me.id = p.profile_id
                WHERE p.profile_id = \(bind: profile) AND p.viewed_at > \(bind: profileViewHistoryStart(at: now).milliseconds)
                AND a.view_history = \(bind: true) AND me.view_history = \(bind: true) AND a.deleted_at IS NULL
                """
            query += Keyset.continuing(after: cursor, instant: "p.viewed_at", id: "p.viewer_id", limit: limit)
            return try Keyset.page(try await sql.raw(query).all(), limit: limit, item: {
                (try $0.decode(column: "viewer_id", as: String.self),
                 Instant(milliseconds: try $0.decode(column: "viewed_at", as: Int64.self)))
            }) { PageCursor(instant: $0.1.milliseconds, id: $0.0) }
        }
    }

    /// Forgets views older than the window.
    public func prune(now: Instant) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("DELETE FROM profile_views WHERE viewed_at <= \(bind: profileViewHistoryStart(at: now).milliseconds)").run()
        }
    }
}
