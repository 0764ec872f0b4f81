import EphemeraCore
import SQLKit

/// Keyset pagination over `(instant column, id column)`: the clause that continues after a cursor, the
/// order and the limit (one row more than the page, to know whether another page follows), and the page.
enum Keyset {
    static func continuing(after cursor: PageCursor?, instant: String, id: String, descending: Bool = true,
                           limit: Int) -> SQLQueryString {
        var clause: SQLQueryString = ""
        let direction = descending ? "<" : ">"
        if let cursor {
            clause += """
                 AND (\(unsafeRaw: instant) \(unsafeRaw: direction) \(bind: cursor.instant) OR (\(unsafeRaw: instant) = \
                \(bind: cursor.instant) AND \(unsafeRaw: id) \(unsafeRaw: direction) \(bind: cursor.id)))
                """
        }
        let order = descending ? "DESC" : "ASC"
        return clause + " ORDER BY \(unsafeRaw: instant) \(unsafeRaw: order), \(unsafeRaw: id) \(unsafeRaw: order) LIMIT \(literal: limit + 1)"
    }

    /// The first `limit` rows as items, and the cursor of the next page when there is one.
    static func page<Item: Sendable>(_ rows: [any SQLRow], limit: Int, item: (any SQLRow) throws -> Item,
                                     key: (Item) -> PageCursor) throws -> Page<Item> {
        let items = try rows.prefix(limit).map(item)
        return Page(items: items, nextCursor: rows.count > limit ? items.last.map { key($0).encoded } : nil)
    }
}
