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
