import EphemeraCore
import EphemeraStore
import EphemeraWorkers
import Foundation
import Prometheus
import Synchronization

/// This node's metrics, served at `GET /metrics` in Prometheus' text format (swift-prometheus). One registry a
/// node (not the process-wide swift-metrics system, so that several apps in one test process keep apart);
/// workers report through `factory` (swift-metrics), requests through `RequestLogMiddleware`, and what is
/// state rather than events (the queue, the sweep, the caches, the pool, child CPU) is read at each scrape.
public final class NodeMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    public let factory: PrometheusMetricsFactory

    let inFlight: Gauge
    /// Ciphertext requests answered in the channel pipeline (`CiphertextFastPath`), a part of the route's count.
    let ciphertextInPlace: Counter
    private let requests = Mutex<[RequestKey: RequestSeries]>([:])
    /// What the caches and child-process CPU counted at the last scrape (their counters grow by the difference).
    private let lastSeen = Mutex<[String: Double]>([:])

    struct RequestKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    struct RequestSeries {
        var count: Counter
        var duration: DurationHistogram
        var bytes: Counter
    }

    static let requestBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[WorkerMetrics.jobDuration] = [
            .milliseconds(10), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
            .seconds(20), .seconds(30), .seconds(60), .seconds(120), .seconds(300),
        ]
        let lag: [Duration] = [
            .seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(900), .seconds(3600),
            .seconds(6 * 3600), .seconds(24 * 3600),
        ]
        factory.durationHistogramBuckets[WorkerMetrics.jobWait] = lag
        factory.durationHistogramBuckets[WorkerMetrics.purgeLagName] = lag
        self.factory = factory
        inFlight = registry.makeGauge(name: "ephemera_http_requests_in_flight", help: "HTTP requests being answered now.")
        ciphertextInPlace = registry.makeCounter(
            name: "ephemera_ciphertext_in_place_total",
            help: "Ciphertext requests answered where they were read, from the page cache, without the router (also counted by route).")
    }

    /// Counts a request: by route template (never a path with ids in it), method and status; its duration; and
    /// the bytes of its body (what the node itself served: presigned media never pass through it).
    func record(route: String, method: String, status: Int, duration: Duration, bytes: Int?) {
        let key = RequestKey(route: route, method: method, status: status)
        let series = requests.withLock { series in
            if let found = series[key] { return found }
            let made = RequestSeries(
                count: registry.makeCounter(
                    name: "ephemera_http_requests_total",
                    labels: [("route", route), ("method", method), ("status", String(status))],
                    help: "HTTP requests answered, by route template, method and status."),
                duration: registry.makeDurationHistogram(
                    name: "ephemera_http_request_duration_seconds", labels: [("route", route), ("method", method)],
                    buckets: Self.requestBuckets, help: "Time to answer an HTTP request (until its head was ready)."),
                bytes: registry.makeCounter(
                    name: "ephemera_http_response_bytes_total", labels: [("route", route)],
                    help: "Bytes of response bodies this node sent, by route template."))
            series[key] = made
            return made
        }
        series.count.increment()
        series.duration.record(duration)
        if let bytes, bytes > 0 { series.bytes.increment(by: Int64(bytes)) }
    }

    /// Reads what is state rather than events, then writes every metric in the text format.
    public func scrape(_ services: AppServices) async throws -> String {
        let now = services.clock.now()
        let backlog = try await services.jobs.backlog(now: now)
        for kind in JobKind.allCases {
            let labels = [("kind", kind.rawValue)]
            let entry = backlog[kind]
            registry.makeGauge(name: "ephemera_jobs_due", labels: labels,
                               help: "Jobs due or running, by kind (the queue's depth).")
                .set(Double(entry?.due ?? 0))
            registry.makeGauge(name: "ephemera_jobs_oldest_due_seconds", labels: labels,
                               help: "How long the oldest job due (or running) has been due, by kind.")
                .set(entry.map { Self.seconds(from: $0.oldestDue, to: now) } ?? 0)
        }
        registry.makeGauge(name: "ephemera_purge_overdue_seconds",
                           help: "How long the oldest purge due has waited; a receipt's promise depends on this staying small.")
            .set(backlog[.purgeSegment].map { Self.seconds(from: $0.oldestDue, to: now) } ?? 0)
        let unswept = try await services.deletion.oldestUnswept(now: now)
        registry.makeGauge(name: "ephemera_expiry_sweep_lag_seconds",
                           help: "How long the oldest segment past its expiresAt has waited for the sweep (0: up to date).")
            .set(unswept.map { Self.seconds(from: $0, to: now) } ?? 0)

        let database = services.database
        for (name, statistics) in [("tray", database.trayCache.statistics), ("session", database.sessionCache.statistics),
                                   ("visibility", database.visibilityCache.statistics)] {
            grow(registry.makeCounter(name: "ephemera_cache_hits_total", labels: [("cache", name)], help: "Cache lookups that found a value."),
                 key: "hits-" + name, to: Double(statistics.hits))
            grow(registry.makeCounter(name: "ephemera_cache_misses_total", labels: [("cache", name)], help: "Cache lookups that found nothing."),
                 key: "misses-" + name, to: Double(statistics.misses))
        }
        registry.makeGauge(name: "ephemera_db_connections_in_use", help: "Database connections in use now.")
            .set(Double(database.connectionsInUse))
        registry.makeGauge(name: "ephemera_db_connections_waiting", help: "Requests waiting for a database connection now.")
            .set(Double(database.connectionsWaiting))
        registry.makeGauge(name: "ephemera_db_connections_max", help: "The most connections the pool opens.")
            .set(Double(database.connectionLimit))
        if let lane = (services.passwords as? BcryptPasswordHasher)?.lane.statistics {
            registry.makeGauge(name: "ephemera_password_checks_waiting",
                               help: "Password checks (sign-in, sign-up, re-authentication) waiting for a hashing thread now.")
                .set(Double(lane.waiting))
            registry.makeGauge(name: "ephemera_password_check_seconds",
                               help: "The recent time of one password hash (the lane's pace).")
                .set(lane.secondsPerItem)
            grow(registry.makeCounter(name: "ephemera_password_checks_refused_total",
                                      help: "Password checks refused with 503 overloaded: they would have waited too long."),
                 key: "password-refused", to: Double(lane.refused))
        }
        // ffmpeg and ffprobe are this process's only children but for pg_dump in a backup: their CPU time.
        grow(registry.makeCounter(name: "ephemera_ffmpeg_cpu_seconds_total",
                                  help: "CPU seconds (user and system) of the helper processes this node ran and waited for: ffmpeg and ffprobe."),
             key: "children", to: Self.childCPUSeconds())
        return registry.emitToString()
    }

    /// Moves a counter up to `total` (a count kept elsewhere, read at each scrape).
    private func grow(_ counter: Counter, key: String, to total: Double) {
        let delta = lastSeen.withLock { seen -> Double in
            let delta = total - (seen[key] ?? 0)
            seen[key] = total
            return delta
        }
        if delta > 0 { counter.increment(by: delta) }
    }

    static func seconds(from earlier: Instant, to now: Instant) -> Double {
        max(0, Double(now.milliseconds - earlier.milliseconds) / 1000)
    }

    static func childCPUSeconds() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_CHILDREN.rawValue, &usage) == 0 else { return 0 }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
