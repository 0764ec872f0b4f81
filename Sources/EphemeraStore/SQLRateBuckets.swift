import EphemeraCore
import SQLKit
import Synchronization

/// Rate-limit buckets in the shared database (`rate_buckets`), so that a limit counts per account and per address
/// across every node. One short transaction a limited request: the rows are created full if missing, locked in key
/// order (two nodes cannot deadlock), and updated only when every bucket has room (`TokenBucket.takeAll`). Rows an
/// hour past their last use are deleted now and then (they name accounts and addresses: `DataClassification`).
public final class SQLRateBuckets: RateBuckets {
    let database: Database
    private let takes = Atomic<Int>(0)

    public init(database: Database) { self.database = database }

    public func take(_ requests: [RateBucketRequest], now: Instant) async throws -> Double? {
        let requests = requests.sorted { $0.key < $1.key }
        guard !requests.isEmpty else { return nil }
        let keys = requests.map(\.key)
        let lock: SQLQueryString = database.dialect == .postgres ? " FOR UPDATE" : ""
        let wait = try await database.transaction(affectingTrays: false, readBack: false) { sql -> Double? in
            var insert: SQLQueryString = "INSERT INTO rate_buckets (key, tokens, updated_at) VALUES "
            for (index, request) in requests.enumerated() {
                if index > 0 { insert += ", " }
                insert += "(\(bind: request.key), \(bind: request.limit.burst), \(bind: now.milliseconds))"
            }
            try await sql.raw(insert + " ON CONFLICT (key) DO NOTHING").run()
            var buckets: [String: TokenBucket] = [:]
            for row in try await sql.raw("""
                SELECT key, tokens, updated_at FROM rate_buckets WHERE key IN (\(binds: keys)) ORDER BY key\(lock)
                """).all() {
                var bucket = TokenBucket(limit: RateLimit(burst: 0, perMinute: 0), now: Instant(milliseconds: try row.decode(column: "updated_at", as: Int64.self)))
                bucket.tokens = try row.decode(column: "tokens", as: Double.self)
                buckets[try row.decode(column: "key", as: String.self)] = bucket
            }
            switch TokenBucket.takeAll(requests, from: buckets, now: now) {
            case .failure(let wait):
                return wait.seconds
            case .success(let updated):
                for request in requests {
                    guard let bucket = updated[request.key] else { continue }
                    try await sql.raw("""
                        UPDATE rate_buckets SET tokens = \(bind: bucket.tokens), updated_at = \(bind: bucket.updatedAt.milliseconds)
                        WHERE key = \(bind: request.key)
                        """).run()
                }
                return nil
            }
        }
        if takes.add(1, ordering: .relaxed).newValue % 1000 == 0 { try await prune(now: now) }
        return wait
    }

    /// Deletes buckets unused for an hour (a full bucket is the same as none).
    public func prune(now: Instant) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("DELETE FROM rate_buckets WHERE updated_at < \(bind: (now - .seconds(3600)).milliseconds)").run()
        }
    }
}
