import Synchronization

/// Turns many concurrent single requests into few batched ones (group commit for writes, one query for many
/// lookups). Each caller waits for its own answer; requests arriving while a batch is in flight queue and go
/// together in the next one, so under load one round trip carries many requests, and an idle server runs a
/// lone request at once: there is no timer and no added latency. Up to `lanes` batches run at once (one where
/// the database takes one writer at a time; more where a batch's round trips, not the database, are the limit).
final class Coalescer<Input: Sendable, Output: Sendable>: Sendable {
    /// Runs one batch; answers each input in order (the same count as `inputs`).
    typealias Run = @Sendable (_ inputs: [Input]) async -> [Result<Output, any Error>]

    private struct Waiter {
        var input: Input
        var continuation: CheckedContinuation<Output, any Error>
    }

    private struct State {
        var waiting: [Waiter] = []
        var running = 0
    }

    private let state = Mutex(State())
    private let run: Run
    /// Inputs per batch at most.
    let batchLimit: Int
    /// Batches in flight at most.
    let lanes: Int

    init(batchLimit: Int, lanes: Int = 1, run: @escaping Run) {
        precondition(batchLimit > 0 && lanes > 0)
        self.batchLimit = batchLimit
        self.lanes = lanes
        self.run = run
    }

    func submit(_ input: Input) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let lead = state.withLock { state in
                state.waiting.append(Waiter(input: input, continuation: continuation))
                guard state.running < lanes else { return false }
                state.running += 1
                return true
            }
            if lead { Task { await self.runWhileWaiting() } }
        }
    }

    /// Runs batches until nobody waits.
    private func runWhileWaiting() async {
        while true {
            let batch = state.withLock { state -> [Waiter] in
                let batch = Array(state.waiting.prefix(batchLimit))
                state.waiting.removeFirst(batch.count)
                if batch.isEmpty { state.running -= 1 }
                return batch
            }
            if batch.isEmpty { return }
            let answers = await run(batch.map(\.input))
            for (index, waiter) in batch.enumerated() {
                guard index < answers.count else {
                    waiter.continuation.resume(throwing: CoalescerError.unanswered)
                    continue
                }
                waiter.continuation.resume(with: answers[index])
            }
        }
    }
}

enum CoalescerError: Error {
    /// A batch returned fewer answers than it had inputs (a programming error in its `Run`).
    case unanswered
}
