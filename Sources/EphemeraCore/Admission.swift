/// Admission control (issue 17): past what the node can answer promptly, a request is refused at once with 503
/// and `Retry-After` instead of waiting in a queue until its client gives up — so that, at twice the node's
/// capacity, those it admits are still answered in time, and when the load goes the node is itself again at
/// once. Health checks are never refused: a balancer must be able to tell busy from dead.
public enum AdmissionRules {
    /// Requests answered at once by default: well above what 2 cores complete at a time, low enough that a
    /// flood queues no more than a moment's work.
    public static let defaultMaxInFlight = 256

    /// Seconds a refused client should wait.
    public static let retryAfterSeconds = 1

    /// Paths that are always admitted: the balancer's and the operator's view of the node.
    public static func isExempt(path: String) -> Bool {
        path == "/healthz" || path == "/readyz" || path == "/metrics"
    }

    public static let overloaded = EphemeraError(
        .unavailable, "overloaded", "The server is busy right now; try again in a moment.")
        .retrying(after: retryAfterSeconds)
}

/// A lane of slow work with a few workers (bcrypt on the hashing threads): what decides whether one more caller
/// may wait for it. The in-flight cap alone shields such a lane too late — 256 sign-ins queued behind two
/// cost-12 hashers wait half a minute, longer than any client does — so a lane refuses a caller when the wait
/// it can expect (those ahead of it, shared among the workers, at the lane's recent pace) would pass
/// `maxWaitSeconds`. Those it admits are answered in time; the rest are told at once to come back.
public struct LaneLoad: Sendable, Hashable {
    /// Callers being served now, and waiting for a worker.
    public var running: Int
    public var waiting: Int
    /// Workers, and the seconds one piece of work has recently taken.
    public var workers: Int
    public var secondsPerItem: Double

    public init(running: Int, waiting: Int, workers: Int, secondsPerItem: Double) {
        self.running = running
        self.waiting = waiting
        self.workers = workers
        self.secondsPerItem = secondsPerItem
    }

    /// Seconds a caller arriving now can expect to wait before a worker starts on its work: nothing while a
    /// worker is free; otherwise every caller ahead of it (and itself) served in turns of `workers` at a time.
    public var expectedWaitSeconds: Double {
        if running < workers { return 0 }
        let turns = (waiting + 1 + workers - 1) / max(1, workers)
        return Double(turns) * secondsPerItem
    }

    public func admits(maxWaitSeconds: Double) -> Bool { expectedWaitSeconds <= maxWaitSeconds }

    /// The recent pace after an item took `seconds`: a moving average that follows a change of load within a
    /// few items and is not thrown by one slow one.
    public static func pace(previous: Double, observed seconds: Double) -> Double {
        previous <= 0 ? seconds : previous * 0.8 + seconds * 0.2
    }
}

extension AdmissionRules {
    /// The longest a password check may expect to wait for a hashing thread before it is refused (503
    /// `overloaded`): a person signing in waits this plus one hash at the worst, never a client's timeout.
    public static let passwordLaneMaxWaitSeconds = 2.0
}
