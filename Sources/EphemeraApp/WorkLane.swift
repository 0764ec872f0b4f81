import EphemeraCore
import NIOPosix
import Synchronization

/// Slow work with a fixed number of workers and a bounded wait (`LaneLoad`): callers beyond the workers wait in
/// order, and one who could expect to wait past `maxWaitSeconds` is refused at once with 503 `overloaded` —
/// never queued behind more work than can be done before its client gives up. The work runs on a thread pool
/// of its own, so nothing else waits behind it.
final class WorkLane: Sendable {
    struct Statistics: Sendable {
        var running = 0
        var waiting = 0
        var refused = 0
        var secondsPerItem = 0.0
    }

    private struct State {
        var statistics = Statistics()
        var waiters: [CheckedContinuation<Void, Never>] = []
        /// Workers handed to callers that decided to wait but are not in `waiters` yet.
        var handoffs = 0
    }

    let workers: Int
    let maxWaitSeconds: Double
    private let pool: NIOThreadPool
    private let state = Mutex(State())

    /// `secondsPerItem`: the pace to assume until work has been timed (e.g. one hash timed at start-up).
    init(workers: Int, maxWaitSeconds: Double, secondsPerItem: Double) {
        self.workers = max(1, workers)
        self.maxWaitSeconds = maxWaitSeconds
        pool = NIOThreadPool(numberOfThreads: self.workers)
        pool.start()
        state.withLock { $0.statistics.secondsPerItem = secondsPerItem }
    }

    /// The threads go with the lane (tests open many services, one lane each).
    deinit { pool.shutdownGracefully { _ in } }

    var statistics: Statistics { state.withLock { $0.statistics } }

    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await enter()
        let started = ContinuousClock.now
        defer { leave(took: ContinuousClock.now - started) }
        return try await pool.runIfActive(work)
    }

    /// Takes a worker, waits in turn for one, or refuses.
    private func enter() async throws {
        enum Decision { case go, wait, refuse }
        let decision = state.withLock { state -> Decision in
            let load = LaneLoad(running: state.statistics.running, waiting: state.statistics.waiting,
                                workers: workers, secondsPerItem: state.statistics.secondsPerItem)
            if load.running < workers {
                state.statistics.running += 1
                return .go
            }
            guard load.admits(maxWaitSeconds: maxWaitSeconds) else {
                state.statistics.refused += 1
                return .refuse
            }
            state.statistics.waiting += 1
            return .wait
        }
        switch decision {
        case .go: return
        case .refuse: throw AdmissionRules.overloaded
        case .wait:
            // The worker is handed over by `leave` (running stays counted), so none is lost between the two.
            await withCheckedContinuation { continuation in
                let handedOver = state.withLock { state -> Bool in
                    guard state.handoffs > 0 else {
                        state.waiters.append(continuation)
                        return false
                    }
                    state.handoffs -= 1
                    state.statistics.waiting -= 1
                    return true
                }
                if handedOver { continuation.resume() }
            }
        }
    }

    private func leave(took duration: Duration) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.statistics.secondsPerItem = LaneLoad.pace(previous: state.statistics.secondsPerItem, observed: seconds)
            if !state.waiters.isEmpty {
                state.statistics.waiting -= 1
                return state.waiters.removeFirst()
            }
            if state.statistics.waiting > state.handoffs {
                state.handoffs += 1
            } else {
                state.statistics.running -= 1
            }
            return nil
        }
        next?.resume()
    }
}
