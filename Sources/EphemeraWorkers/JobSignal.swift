import Synchronization

/// Wakes a worker when work was enqueued, so it need not wait for its next poll.
public final class JobSignal: Sendable {
    private let waiters = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let pending = Atomic<Bool>(false)

    public init() {}

    /// Wakes the waiting worker (or the next one to wait).
    public func notify() {
        let toResume = waiters.withLock { list -> [CheckedContinuation<Void, Never>] in
            defer { list.removeAll() }
            return list
        }
        if toResume.isEmpty { pending.store(true, ordering: .releasing) }
        toResume.forEach { $0.resume() }
    }

    /// Returns when notified or after `timeout`, whichever is first.
    public func wait(timeout: Duration) async {
        if pending.exchange(false, ordering: .acquiring) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    self.waiters.withLock { $0.append(continuation) }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            // Release the continuation that is still parked, if the timeout won.
            self.notifyWaitersOnly()
            await group.waitForAll()
        }
    }

    private func notifyWaitersOnly() {
        let toResume = waiters.withLock { list -> [CheckedContinuation<Void, Never>] in
            defer { list.removeAll() }
            return list
        }
        toResume.forEach { $0.resume() }
    }
}
