import Synchronization

/// Tells whoever waits that something changed (a segment left `processing`), so a client holding a request
/// open for it (`GET /api/v1/stories/{id}?wait=`) hears at once instead of polling. Every waiter wakes; each
/// then reads what it waits for. A generation number closes the gap between reading and waiting: a change made
/// after the read ends the wait at once.
public final class ChangeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// The current generation: read it before reading what is waited for, and pass it to `wait(after:timeout:)`.
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// How many wait now (tests, to know a request is held).
    public var waiting: Int { state.withLock { $0.waiters.count } }

    /// Something changed: every waiter wakes.
    public func notify() {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        woken.forEach { $0.resume() }
    }

    /// Returns once the generation has moved past `generation`, or after `timeout`.
    public func wait(after generation: UInt64, timeout: Duration) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let moved = self.state.withLock { state -> Bool in
                        if state.generation != generation { return true }
                        state.waiters[id] = continuation
                        return false
                    }
                    if moved { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            // The timeout won: release this waiter's continuation, if it is still parked.
            let parked = self.state.withLock { $0.waiters.removeValue(forKey: id) }
            parked?.resume()
            await group.waitForAll()
        }
    }
}
