import EphemeraCore
import Foundation
import SQLKit

/// The database is the queue (DESIGN.md, "Jobs"): jobs are rows of a typed `Job` (its kind and a JSON payload),
/// a claim sets a lease and counts the attempt, an expired lease (a crashed worker) makes the job claimable
/// again, and failures retry with backoff. The attempt is a fencing token: completing or failing a job only
/// changes the row while it still carries the claimer's attempt. Claims use `FOR UPDATE SKIP LOCKED` on
/// PostgreSQL so several nodes can share the queue; on SQLite a single in-process worker claims inside an
/// immediate transaction.
public struct SQLJobQueue: JobQueue {
    public let database: Database
    /// This node's name, written into the rows it claims (`--node-id`).
    public let nodeID: String

    public init(database: Database, nodeID: String = "local") {
        self.database = database
        self.nodeID = nodeID
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static func payloadText(_ job: Job) throws -> String {
        String(decoding: try encoder.encode(job.payload), as: UTF8.self)
    }

    /// Queues `jobs` (all due at `runAt`) with one statement per few hundred, inside the caller's transaction.
    static func insert(_ jobs: [Job], runAt: Instant, on sql: any SQLDatabase) async throws {
        var start = jobs.startIndex
        while start < jobs.endIndex {
            let end = min(start + 500, jobs.endIndex)
            var insert: SQLQueryString =
                "INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_at, created_at) VALUES "
            for (index, job) in jobs[start..<end].enumerated() {
                if index > 0 { insert += ", " }
                insert += """
                    (\(bind: IDs.make()), \(bind: job.kind.rawValue), \(bind: try payloadText(job)), 'queued', 0, \
                    \(bind: job.kind.maxAttempts), \(bind: runAt.milliseconds), \(bind: runAt.milliseconds))
                    """
            }
            try await sql.raw(insert).run()
            start = end
        }
        try await wakeWorkers(on: sql)
    }

    /// Tells every node's workers, at commit, that a job was queued (`ChangeListener` hears it), so a worker on
    /// another node starts it at once rather than at its next poll. Inside the caller's transaction, so a
    /// rolled-back enqueue wakes no one.
    static func wakeWorkers(on sql: any SQLDatabase) async throws {
        guard sql.dialect.name == "postgresql" else { return }
        try await sql.raw("SELECT pg_notify(\(bind: ChangeNotice.channel), \(bind: ChangeNotice.jobQueuedPayload))").run()
    }

    static func insert(_ job: Job, runAt: Instant, on sql: any SQLDatabase) async throws {
        try await insert([job], runAt: runAt, on: sql)
    }

    public func enqueueUnlessPending(_ job: Job, runAt: Instant) async throws -> String {
        let payload = try Self.payloadText(job)
        let dialect = database.dialect
        return try await database.transaction(affectingTrays: false) { sql in
            if dialect == .postgres {
                // Two nodes (or requests) enqueueing the same job at once: the second waits for the first's commit
                // and then finds its row. SQLite's writer lock already serialises these transactions.
                try await sql.raw("SELECT pg_advisory_xact_lock(hashtext(\(bind: job.kind.rawValue + payload)))").run()
            }
            if let pending = try await sql.raw("""
                SELECT id FROM jobs WHERE kind = \(bind: job.kind.rawValue) AND payload = \(bind: payload)
                AND state IN ('queued', 'running') LIMIT 1
                """).first() {
                return try pending.decode(column: "id", as: String.self)
            }
            let id = IDs.make()
            try await sql.raw("""
                INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_at, created_at)
                VALUES (\(bind: id), \(bind: job.kind.rawValue), \(bind: payload), 'queued', 0,
                \(bind: job.kind.maxAttempts), \(bind: runAt.milliseconds), \(bind: runAt.milliseconds))
                """).run()
            try await Self.wakeWorkers(on: sql)
            return id
        }
    }

    /// Claims the next due job of one of `kinds`, leasing it until `now + lease`: a job whose lease ran out
    /// (its worker died) first, else the queued one of those kinds due longest. One index seek per kind
    /// (`jobs_claim`), so a queue of tens of thousands of purges costs no more to claim from than an empty one.
    public func claim(kinds: [JobKind], now: Instant, lease: Duration) async throws -> ClaimedJob? {
        let nowMS = now.milliseconds
        let leaseUntil = (now + lease).milliseconds
        let kindNames = kinds.map(\.rawValue)
        let lock: SQLQueryString = database.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        return try await database.transaction(affectingTrays: false) { sql in
            var candidates: [(runAt: Int64, id: String)] = []
            if let row = try await sql.raw("""
                SELECT id, run_at FROM jobs WHERE state = 'running' AND lease_until < \(bind: nowMS)
                AND kind IN (\(binds: kindNames)) ORDER BY lease_until LIMIT 1\(lock)
                """).first() {
                candidates.append((Int64.min, try row.decode(column: "id", as: String.self)))
            } else {
                for kind in kindNames {
                    if let row = try await sql.raw("""
                        SELECT id, run_at FROM jobs WHERE kind = \(bind: kind) AND state = 'queued' AND run_at <= \(bind: nowMS)
                        ORDER BY run_at, id LIMIT 1\(lock)
                        """).first() {
                        candidates.append((try row.decode(column: "run_at", as: Int64.self), try row.decode(column: "id", as: String.self)))
                    }
                }
            }
            guard let chosen = candidates.min(by: { ($0.runAt, $0.id) < ($1.runAt, $1.id) }) else { return nil }
            guard let row = try await sql.raw("""
                UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = \(bind: leaseUntil),
                claimed_by = \(bind: nodeID)
                WHERE id = \(bind: chosen.id) RETURNING id, kind, payload, attempts, max_attempts, run_at
                """).first() else { return nil }
            let kindName = try row.decode(column: "kind", as: String.self)
            let payloadText = try row.decode(column: "payload", as: String.self)
            guard let kind = JobKind(rawValue: kindName),
                  let payload = try? JSONDecoder().decode(Job.Payload.self, from: Data(payloadText.utf8)),
                  let job = Job(kind: kind, payload: payload)
            else {
                // A row no handler can read would be claimed forever; it fails for good, saying why.
                try await sql.raw("""
                    UPDATE jobs SET state = 'failed', lease_until = NULL, finished_at = \(bind: nowMS),
                    last_error = \(bind: "unreadable job: kind \(kindName), payload \(payloadText)") WHERE id = \(bind: chosen.id)
                    """).run()
                return nil
            }
            return ClaimedJob(id: chosen.id, job: job, attempt: try row.decode(column: "attempts", as: Int.self),
                              maxAttempts: try row.decode(column: "max_attempts", as: Int.self),
                              runAt: Instant(milliseconds: try row.decode(column: "run_at", as: Int64.self)))
        }
    }

    /// Whether this attempt still holds `job`, locking its row until the caller's transaction ends (so the
    /// successor's claim, an `UPDATE` of the same row, waits for that commit instead of racing it).
    static func isHeld(_ job: ClaimedJob, on sql: any SQLDatabase) async throws -> Bool {
        let lock: SQLQueryString = sql.dialect.name == "postgresql" ? " FOR UPDATE" : ""
        return try await sql.raw("SELECT id FROM jobs WHERE \(held(job))\(lock)").first() != nil
    }

    /// The row of `job` while this attempt still holds it.
    static func held(_ job: ClaimedJob) -> SQLQueryString {
        "id = \(bind: job.id) AND attempts = \(bind: job.attempt) AND state = 'running'"
    }

    public func renewLease(_ job: ClaimedJob, until: Instant) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("UPDATE jobs SET lease_until = \(bind: until.milliseconds) WHERE \(Self.held(job))").run()
        }
    }

    public func complete(_ job: ClaimedJob, at now: Instant) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("""
                UPDATE jobs SET state = 'done', lease_until = NULL, last_error = NULL, finished_at = \(bind: now.milliseconds)
                WHERE \(Self.held(job))
                """).run()
        }
    }

    public func fail(_ job: ClaimedJob, error: String, retryAt: Instant?, at now: Instant) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            if let retryAt {
                try await sql.raw("""
                    UPDATE jobs SET state = 'queued', lease_until = NULL, last_error = \(bind: error),
                    run_at = \(bind: retryAt.milliseconds) WHERE \(Self.held(job))
                    """).run()
            } else {
                try await sql.raw("""
                    UPDATE jobs SET state = 'failed', lease_until = NULL, last_error = \(bind: error),
                    finished_at = \(bind: now.milliseconds) WHERE \(Self.held(job))
                    """).run()
            }
        }
    }

    public func state(jobID: String) async throws -> JobState? {
        try await database.withConnection { sql in
            try await sql.raw("SELECT state FROM jobs WHERE id = \(bind: jobID)").first()
                .flatMap { JobState(rawValue: try $0.decode(column: "state", as: String.self)) }
        }
    }

    /// Releases every job this process held when the process knows it is the only worker (SQLite): after a
    /// crash there is nobody else whose lease to respect.
    public func releaseAllRunning() async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("UPDATE jobs SET state = 'queued', lease_until = NULL WHERE state = 'running'").run()
        }
    }

    /// The queue's backlog per kind, for `/metrics`: jobs due (queued with `run_at` passed, or running) and
    /// when the oldest of them was due. Kinds with nothing due are left out.
    public func backlog(now: Instant) async throws -> [JobKind: (due: Int, oldestDue: Instant)] {
        try await database.withConnection { sql in
            var result: [JobKind: (due: Int, oldestDue: Instant)] = [:]
            for row in try await sql.raw("""
                SELECT kind, COUNT(*) AS due, MIN(run_at) AS oldest FROM jobs
                WHERE (state = 'queued' AND run_at <= \(bind: now.milliseconds)) OR state = 'running' GROUP BY kind
                """).all() {
                guard let kind = JobKind(rawValue: try row.decode(column: "kind", as: String.self)) else { continue }
                result[kind] = (try row.decode(column: "due", as: Int.self),
                                Instant(milliseconds: try row.decode(column: "oldest", as: Int64.self)))
            }
            return result
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

/// The job whose handler is running in this task (set by the worker around a handler). Every transaction the
/// handler commits is fenced by it: `Database.transaction` checks, just before `COMMIT` and holding the job's row,
/// that this attempt still holds the job, and rolls back with `JobFenceLost` when another node took it over
/// after the lease ran out — so a node presumed dead cannot finish a step its successor owns.
public enum JobFence {
    @TaskLocal public static var current: ClaimedJob?
}

extension Database {
    /// Throws `JobFenceLost` when the job this task runs for (`JobFence.current`) has been taken over. Workers call
    /// it before a side effect outside the database (storing renditions), so a node whose lease ran out stops
    /// before writing objects its successor is writing; what it commits is fenced by `transaction` regardless.
    public func checkFence() async throws {
        guard let fence = JobFence.current else { return }
        let held = try await withConnection { sql in
            try await sql.raw("SELECT id FROM jobs WHERE \(SQLJobQueue.held(fence))").first() != nil
        }
        if !held { throw JobFenceLost(jobID: fence.id, attempt: fence.attempt) }
    }
}

/// The job was claimed by another attempt (this node's lease ran out): nothing this attempt wrote was committed.
public struct JobFenceLost: Error, CustomStringConvertible {
    public var jobID: String
    public var attempt: Int
    public var description: String { "job \(jobID) attempt \(attempt) was taken over by a later attempt" }
}
