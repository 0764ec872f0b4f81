import EphemeraCore
import SQLKit

/// Share links and share events.
public struct SQLShareStore: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// What a share code points at now.
    public enum Target: Sendable {
        case segment(Segment)
        /// The segment was purged: only its tombstone is left.
        /// Purged: only whether it was public is left.
        case purged(wasPublic: Bool)
        case unknown
    }

    /// Records a share by `accountID` and returns the segment's share code (made on the first share).
    public func share(segmentID: String, accountID: String, at now: Instant) async throws -> String {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("""
                INSERT INTO shares (id, segment_id, account_id, created_at)
                VALUES (\(bind: IDs.make()), \(bind: segmentID), \(bind: accountID), \(bind: now.milliseconds))
                """).run()
            try await sql.raw("UPDATE segments SET share_count = share_count + 1 WHERE id = \(bind: segmentID)").run()
            if let row = try await sql.raw("SELECT code FROM share_links WHERE segment_id = \(bind: segmentID)").first() {
                return try row.decode(column: "code", as: String.self)
            }
            let code = IDs.randomToken(bytes: 9)
            try await sql.raw("""
                INSERT INTO share_links (code, segment_id, created_at) VALUES (\(bind: code), \(bind: segmentID), \(bind: now.milliseconds))
                """).run()
            return code
        }
    }

    /// The segment a share code names, or that it was purged.
    public func target(code: String) async throws -> Target {
        try await database.withConnection { sql in
            guard let row = try await sql.raw("SELECT segment_id, was_public FROM share_links WHERE code = \(bind: code)").first()
            else { return .unknown }
            let id = try row.decode(column: "segment_id", as: String.self)
            if let segment = try await SQLSegmentStore.segment(id: id, on: sql) { return .segment(segment) }
            return .purged(wasPublic: try row.decode(column: "was_public", as: Bool?.self) ?? false)
        }
    }
}
