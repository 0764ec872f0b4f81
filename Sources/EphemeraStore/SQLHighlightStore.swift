import EphemeraCore
import SQLKit

/// Highlights in SQL: `highlights` (one row each, ordered per owner by `position`) and `highlight_segments`
/// (each highlight's segments in order). Which of its segments a caller sees is `SQLVisibility`'s predicate
/// through a highlight, the SQL form of `isVisibleThroughHighlight`.
public struct SQLHighlightStore: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// Stores a new highlight last among its owner's, unless they have `HighlightRules.maxHighlights`
    /// already; returns the position it took, or nil when full.
    public func create(_ highlight: Highlight) async throws -> Int? {
        try await database.transaction(affectingTrays: false) { sql in
            let row = try await sql.raw("""
                SELECT COUNT(*) AS n, COALESCE(MAX(position), -1) AS last FROM highlights WHERE owner_id = \(bind: highlight.ownerID)
                """).first()
            let count = try row?.decode(column: "n", as: Int.self) ?? 0
            guard count < HighlightRules.maxHighlights else { return nil }
            let position = (try row?.decode(column: "last", as: Int.self) ?? -1) + 1
            try await sql.raw("""
                INSERT INTO highlights (id, owner_id, title, cover_segment_id, position, created_at, updated_at)
                VALUES (\(bind: highlight.id), \(bind: highlight.ownerID), \(bind: highlight.title),
                \(bind: highlight.coverSegmentID), \(bind: position), \(bind: highlight.createdAt.milliseconds),
                \(bind: highlight.updatedAt.milliseconds))
                """).run()
            try await Self.setSegments(highlight.id, highlight.segmentIDs, on: sql)
            return position
        }
    }

    static func setSegments(_ highlightID: String, _ segmentIDs: [String], on sql: any SQLDatabase) async throws {
        try await sql.raw("DELETE FROM highlight_segments WHERE highlight_id = \(bind: highlightID)").run()
        for (position, segmentID) in segmentIDs.enumerated() {
            try await sql.raw("""
                INSERT INTO highlight_segments (highlight_id, segment_id, position)
                VALUES (\(bind: highlightID), \(bind: segmentID), \(bind: position))
                """).run()
        }
    }

    /// The highlight with every segment still listed in it, whatever their state.
    public func highlight(id: String) async throws -> Highlight? {
        try await database.withConnection { sql in
            guard let row = try await sql.raw("""
                SELECT id, owner_id, title, cover_segment_id, position, created_at, updated_at FROM highlights WHERE id = \(bind: id)
                """).first() else { return nil }
            let segmentIDs = try await sql.raw("""
                SELECT segment_id FROM highlight_segments WHERE highlight_id = \(bind: id) ORDER BY position
                """).all().map { try $0.decode(column: "segment_id", as: String.self) }
            return try Self.highlight(from: row, segmentIDs: segmentIDs)
        }
    }

    static func highlight(from row: any SQLRow, segmentIDs: [String]) throws -> Highlight {
        Highlight(id: try row.decode(column: "id", as: String.self),
                  ownerID: try row.decode(column: "owner_id", as: String.self),
                  title: try row.decode(column: "title", as: String.self),
                  coverSegmentID: try row.decode(column: "cover_segment_id", as: String?.self),
                  position: try row.decode(column: "position", as: Int.self),
                  createdAt: Instant(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
                  updatedAt: Instant(milliseconds: try row.decode(column: "updated_at", as: Int64.self)),
                  segmentIDs: segmentIDs)
    }

    /// The owner's highlights in their order, each with the segments `viewer` sees through it, in order.
    public func highlights(ownerID: String, viewer: String?, now: Instant) async throws
        -> [(highlight: Highlight, visible: [Segment])]
    {
        try await database.withConnection { sql in
            let rows = try await sql.raw("""
                SELECT id, owner_id, title, cover_segment_id, position, created_at, updated_at FROM highlights
                WHERE owner_id = \(bind: ownerID) ORDER BY position, created_at, id
                """).all()
            guard !rows.isEmpty else { return [] }
            var listed: [String: [String]] = [:]
            for row in try await sql.raw("""
                SELECT hs.highlight_id, hs.segment_id FROM highlight_segments hs JOIN highlights h ON h.id = hs.highlight_id
                WHERE h.owner_id = \(bind: ownerID) ORDER BY hs.highlight_id, hs.position
                """).all() {
                listed[try row.decode(column: "highlight_id", as: String.self), default: []]
                    .append(try row.decode(column: "segment_id", as: String.self))
            }
            var visible: [String: [Segment]] = [:]
            for row in try await sql.raw("""
                SELECT hs.highlight_id, \(SQLSegmentStore.columns) FROM highlight_segments hs
                JOIN highlights h ON h.id = hs.highlight_id JOIN segments s ON s.id = hs.segment_id
                WHERE h.owner_id = \(bind: ownerID)
                AND \(SQLVisibility.predicate(viewer: viewer, now: now, throughHighlight: true))
                ORDER BY hs.highlight_id, hs.position
                """).all() {
                visible[try row.decode(column: "highlight_id", as: String.self), default: []]
                    .append(try SQLSegmentStore.segment(from: row))
            }
            return try rows.map {
                let id = try $0.decode(column: "id", as: String.self)
                return (try Self.highlight(from: $0, segmentIDs: listed[id] ?? []), visible[id] ?? [])
            }
        }
    }

    /// The segments of one highlight that `viewer` sees through it, in the highlight's order.
    public func visibleSegments(highlightID: String, viewer: String?, now: Instant) async throws -> [Segment] {
        try await database.withConnection { sql in
            try await sql.raw("""
                SELECT \(SQLSegmentStore.columns) FROM highlight_segments hs JOIN segments s ON s.id = hs.segment_id
                WHERE hs.highlight_id = \(bind: highlightID)
                AND \(SQLVisibility.predicate(viewer: viewer, now: now, throughHighlight: true))
                ORDER BY hs.position
                """).all().map(SQLSegmentStore.segment(from:))
        }
    }

    /// Replaces what was given of the title, the cover (`.some(nil)`: back to the first segment) and the list.
    public func update(id: String, title: String?, cover: String??, segmentIDs: [String]?, now: Instant) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            if let title {
                try await sql.raw("UPDATE highlights SET title = \(bind: title) WHERE id = \(bind: id)").run()
            }
            if let cover {
                try await sql.raw("UPDATE highlights SET cover_segment_id = \(bind: cover) WHERE id = \(bind: id)").run()
            }
            if let segmentIDs { try await Self.setSegments(id, segmentIDs, on: sql) }
            try await sql.raw("UPDATE highlights SET updated_at = \(bind: now.milliseconds) WHERE id = \(bind: id)").run()
        }
    }

    /// The owner's highlight ids in their order.
    public func order(ownerID: String) async throws -> [String] {
        try await database.withConnection { sql in
            try await sql.raw("""
                SELECT id FROM highlights WHERE owner_id = \(bind: ownerID) ORDER BY position, created_at, id
                """).all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    /// Puts the owner's highlights in the order of `ids` (which `HighlightRules.validatedOrder` checked).
    public func reorder(ownerID: String, ids: [String]) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            for (position, id) in ids.enumerated() {
                try await sql.raw("""
                    UPDATE highlights SET position = \(bind: position) WHERE id = \(bind: id) AND owner_id = \(bind: ownerID)
                    """).run()
            }
        }
    }

    /// Deletes the highlight and its list (the segments stay where they are).
    public func delete(id: String) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("DELETE FROM highlight_segments WHERE highlight_id = \(bind: id)").run()
            try await sql.raw("DELETE FROM highlights WHERE id = \(bind: id)").run()
        }
    }
}
