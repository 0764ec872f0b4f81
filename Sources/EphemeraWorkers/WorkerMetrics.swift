import Metrics
import EphemeraCore

/// What the job lanes report (swift-metrics, through the factory the application hands in, so each node's
/// registry, and each test's, is its own): how long each kind of job ran (media processing among them), how
/// long it waited past its due time, and the purge lag — from the moment a purge was due to the moment it was
/// done, the figure a deletion receipt's promise depends on.
public struct WorkerMetrics: Sendable {
    let durations: [JobKind: CoreMetrics.Timer]
    let waits: [JobKind: CoreMetrics.Timer]
    let purgeLag: CoreMetrics.Timer
    let failures: [JobKind: Counter]

    public static let jobDuration = "ephemera_job_duration_seconds"
    public static let jobWait = "ephemera_job_wait_seconds"
    public static let purgeLagName = "ephemera_purge_lag_seconds"
    public static let jobFailures = "ephemera_job_failures_total"

    public init(factory: any MetricsFactory) {
        var durations: [JobKind: CoreMetrics.Timer] = [:]
        var waits: [JobKind: CoreMetrics.Timer] = [:]
        var failures: [JobKind: Counter] = [:]
        for kind in JobKind.allCases {
            let labels = [("kind", kind.rawValue)]
            durations[kind] = CoreMetrics.Timer(label: Self.jobDuration, dimensions: labels, factory: factory)
            waits[kind] = CoreMetrics.Timer(label: Self.jobWait, dimensions: labels, factory: factory)
            failures[kind] = Counter(label: Self.jobFailures, dimensions: labels, factory: factory)
        }
        self.durations = durations
        self.waits = waits
        self.failures = failures
        purgeLag = CoreMetrics.Timer(label: Self.purgeLagName, factory: factory)
    }

    /// A job's attempt began at `started` (the clock's instant) and ran for `duration`.
    func began(_ job: ClaimedJob, at started: Instant) {
        guard let runAt = job.runAt, job.attempt == 1 else { return }
        waits[job.job.kind]?.recordMilliseconds(max(0, started.milliseconds - runAt.milliseconds))
    }

    func finished(_ job: ClaimedJob, duration: Duration, at now: Instant) {
        durations[job.job.kind]?.record(duration: duration)
        if case .purgeSegment = job.job, let runAt = job.runAt {
            purgeLag.recordMilliseconds(max(0, now.milliseconds - runAt.milliseconds))
        }
    }

    func failed(_ job: ClaimedJob) {
        failures[job.job.kind]?.increment()
    }
}
