import EphemeraCore
import SQLKit

/// A job to enqueue.
public struct NewJob: Sendable, Hashable {
    public var id: String
    public var kind: String
    /// Kind-specific payload (JSON text or a plain id).
    public var payload: String
    public var runAt: Instant
    public var maxAttempts: Int

    public init(id: String = IDs.make(), kind: String, payload: String, runAt: Instant, maxAttempts: Int = 3) {
        self.id = id
        self.kind = kind
        self.payload = payload
        self.runAt = runAt
        self.maxAttempts = maxAttempts
    }
}

/// A job claimed by a worker, with the lease it holds.
public struct ClaimedJob: Sendable, Hashable {
    public var id: String
    public var kind: String
    public var payload: String
    /// 1 on the first run.
    public var attempt: Int
    public var maxAttempts: Int
}

/// The database is the queue (DESIGN.md, "Jobs"): jobs are rows, a claim sets a lease, an expired lease
/// (a crashed worker) makes the job claimable again, and failures retry with backoff. Claims use
/// `FOR UPDATE SKIP LOCKED` on PostgreSQL so several nodes can share the queue; on SQLite a single
/// in-process worker claims inside an immediate transaction.
public struct SQLJobQueue: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    public func enqueue(_ job: NewJob) async throws {
        try await database.transaction(affectingTrays: false) { sql in try await Self.insert(job, on: sql) }
    }

    /// Queues `jobs` with one statement per few hundred.
    static func insert(_ jobs: [NewJob], on sql: any SQLDatabase) async throws {
        var start = jobs.startIndex
        while start < jobs.endIndex {
            let end = min(start + 500, jobs.endIndex)
            var insert: SQLQueryString =
                "INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_at, created_at) VALUES "
            for (index, job) in jobs[start..<end].enumerated() {
                if index > 0 { insert += ", " }
                insert += """
                    (\(bind: job.id), \(bind: job.kind), \(bind: job.payload), 'queued', 0, \(bind: job.maxAttempts), \
                    \(bind: job.runAt.milliseconds), \(bind: job.runAt.milliseconds))
                    """
            }
            try await sql.raw(insert).run()
            start = end
        }
    }

    static func insert(_ job: NewJob, on sql: any SQLDatabase) async throws {
        try await sql.raw("""
            INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_at, created_at)
            VALUES (\(bind: job.id), \(bind: job.kind), \(bind: job.payload), 'queued', 0, \(bind: job.maxAttempts),
            \(bind: job.runAt.milliseconds), \(bind: job.runAt.milliseconds))
            """).run()
    }

    /// Claims the next due job of one of `kinds`, leasing it until `now + lease`: a job whose lease ran out
    /// (its worker died) first, else the queued one of those kinds due longest. One index seek per kind
    /// (`jobs_claim`), so a queue of tens of thousands of purges costs no more to claim from than an empty one.
    public func claim(kinds: [String], now: Instant, lease: Duration) async throws -> ClaimedJob? {
        let nowMS = now.milliseconds
        let leaseUntil = (now + lease).milliseconds
        let lock: SQLQueryString = database.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        return try await database.transaction(affectingTrays: false) { sql in
            var candidates: [(runAt: Int64, id: String)] = []
            if let row = try await sql.raw("""
                SELECT id, run_at FROM jobs WHERE state = 'running' AND lease_until < \(bind: nowMS) AND kind IN (\(binds: kinds))
                ORDER BY lease_until LIMIT 1\(lock)
                """).first() {
                candidates.append((Int64.min, try row.decode(column: "id", as: String.self)))
            } else {
                for kind in kinds {
                    if let row = try await sql.raw("""
                        SELECT id, run_at FROM jobs WHERE kind = \(bind: kind) AND state = 'queued' AND run_at <= \(bind: nowMS)
                        ORDER BY run_at, id LIMIT 1\(lock)
                        """).first() {
                        candidates.append((try row.decode(column: "run_at", as: Int64.self), try row.decode(column: "id", as: String.self)))
                    }
                }
            }
            guard let row = candidates.min(by: { ($0.runAt, $0.id) < ($1.runAt, $1.id) }) else { return nil }
            let id = row.id
            try await sql.raw("""
                UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = \(bind: leaseUntil)
                WHERE id = \(bind: id)
                """).run()
            guard let job = try await sql.raw(
                "SELECT id, kind, payload, attempts, max_attempts FROM jobs WHERE id = \(bind: id)").first()
            else { return nil }
            return ClaimedJob(
                id: id, kind: try job.decode(column: "kind", as: String.self),
                payload: try job.decode(column: "payload", as: String.self),
                attempt: try job.decode(column: "attempts", as: Int.self),
                maxAttempts: try job.decode(column: "max_attempts", as: Int.self))
        }
    }

    /// Extends the lease of a running job (a long transcode).
    public func renewLease(jobID: String, until: Instant) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("""
                UPDATE jobs SET lease_until = \(bind: until.milliseconds) WHERE id = \(bind: jobID) AND state = 'running'
                """).run()
        }
    }

    public func complete(jobID: String, at now: Instant) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("""
                UPDATE jobs SET state = 'done', lease_until = NULL, last_error = NULL, finished_at = \(bind: now.milliseconds)
                WHERE id = \(bind: jobID)
                """).run()
        }
    }

    /// Records a failed run: queued again at `retryAt`, or `failed` for good when `retryAt` is nil.
    public func fail(jobID: String, error: String, retryAt: Instant?, at now: Instant) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            if let retryAt {
                try await sql.raw("""
                    UPDATE jobs SET state = 'queued', lease_until = NULL, last_error = \(bind: error),
                    run_at = \(bind: retryAt.milliseconds) WHERE id = \(bind: jobID)
                    """).run()
            } else {
                try await sql.raw("""
                    UPDATE jobs SET state = 'failed', lease_until = NULL, last_error = \(bind: error),
                    finished_at = \(bind: now.milliseconds) WHERE id = \(bind: jobID)
                    """).run()
            }
        }
    }

    /// Releases every job this process held when the process knows it is the only worker (SQLite): after a
    /// crash there is nobody else whose lease to respect.
    public func releaseAllRunning() async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("UPDATE jobs SET state = 'queued', lease_until = NULL WHERE state = 'running'").run()
        }
    }

    /// The state of a job, for tests and operators.
    public func state(jobID: String) async throws -> String? {
        try await database.withConnection { sql in
            try await sql.raw("SELECT state FROM jobs WHERE id = \(bind: jobID)").first()?
                .decode(column: "state", as: String.self)
        }
    }

    /// Number of jobs queued or running.
    public func pendingCount() async throws -> Int {
        try await database.withConnection { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'running')").first()?
                .decode(column: "n", as: Int.self) ?? 0
        }
    }
}
