/// A job a worker holds: the job, its row, and the attempt that is its fencing token (a step finishes only
/// while the row still carries this attempt, so a worker presumed dead cannot overwrite its successor).
public struct ClaimedJob: Sendable, Hashable {
    public var id: String
    public var job: Job
    /// 1 on the first run.
    public var attempt: Int
    public var maxAttempts: Int
    /// When the job was due: how long it waited is the queue's lag (a purge's, from due to done, is `/metrics`'
    /// purge lag).
    public var runAt: Instant?

    public init(id: String, job: Job, attempt: Int, maxAttempts: Int, runAt: Instant? = nil) {
        self.id = id
        self.job = job
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.runAt = runAt
    }
}

/// The durable queue of background work (the database is the queue: DESIGN.md, "Jobs").
public protocol JobQueue: Sendable {
    /// Queues `job` to run at `runAt` unless the same job is already queued or running; returns the row id
    /// of the job that will do the work.
    @discardableResult
    func enqueueUnlessPending(_ job: Job, runAt: Instant) async throws -> String
    /// Claims the next due job of one of `kinds`, leasing it until `now + lease`.
    func claim(kinds: [JobKind], now: Instant, lease: Duration) async throws -> ClaimedJob?
    /// Extends the lease of a job still held by this attempt.
    func renewLease(_ job: ClaimedJob, until: Instant) async throws
    /// Marks the job done (if this attempt still holds it).
    func complete(_ job: ClaimedJob, at now: Instant) async throws
    /// Records a failed run: queued again at `retryAt`, or failed for good when nil (if this attempt holds it).
    func fail(_ job: ClaimedJob, error: String, retryAt: Instant?, at now: Instant) async throws
    /// Where the job with this row id stands; nil when there is no such row.
    func state(jobID: String) async throws -> JobState?
}
