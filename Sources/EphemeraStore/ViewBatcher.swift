import EphemeraCore
import Synchronization

/// One view to record: who saw which segment when, and whether it counts towards the segment's views
/// (an author watching their own story does not).
public struct ViewRecord: Sendable, Hashable {
    public var segmentID: String
    public var viewerID: String
    public var counted: Bool
    public var at: Instant

    public init(segmentID: String, viewerID: String, counted: Bool, at: Instant) {
        self.segmentID = segmentID
        self.viewerID = viewerID
        self.counted = counted
        self.at = at
    }
}

/// Group commit for views (DESIGN: "views and likes can batch"). Each caller waits until its view is
/// committed — nothing is acknowledged before it is durable — but views arriving while a transaction is
/// being written share the next one, so under load one transaction carries many views instead of each
/// queueing for SQLite's single writer (or paying PostgreSQL's commit round trips) alone. An idle server
/// writes a lone view at once: there is no timer and no added latency.
final class ViewBatcher: Sendable {
    typealias Write = @Sendable ([ViewRecord]) async throws -> Set<ViewKey>

    struct ViewKey: Hashable, Sendable {
        var segmentID: String
        var viewerID: String
    }

    private struct Waiter {
        var view: ViewRecord
        var continuation: CheckedContinuation<Bool, any Error>
    }

    private struct State {
        var waiting: [Waiter] = []
        var writing = false
    }

    private let state = Mutex(State())
    private let write: Write
    /// Views per transaction at most (three bound values each, well inside SQLite's limit).
    let batchLimit: Int

    init(batchLimit: Int = 500, write: @escaping Write) {
        self.batchLimit = batchLimit
        self.write = write
    }

    /// Records `view`; returns whether it was new (false when this viewer had already seen the segment).
    func record(_ view: ViewRecord) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            let lead = state.withLock { state in
                state.waiting.append(Waiter(view: view, continuation: continuation))
                guard !state.writing else { return false }
                state.writing = true
                return true
            }
            if lead { Task { await self.writeWhileWaiting() } }
        }
    }

    /// Writes batches until nobody waits.
    private func writeWhileWaiting() async {
        while true {
            let batch = state.withLock { state -> [Waiter] in
                let batch = Array(state.waiting.prefix(batchLimit))
                state.waiting.removeFirst(batch.count)
                if batch.isEmpty { state.writing = false }
                return batch
            }
            if batch.isEmpty { return }
            // The same view twice in one batch: the first is the new one.
            var unique: [ViewKey: ViewRecord] = [:]
            for waiter in batch {
                let key = ViewKey(segmentID: waiter.view.segmentID, viewerID: waiter.view.viewerID)
                if unique[key] == nil { unique[key] = waiter.view }
            }
            do {
                var inserted = try await write(Array(unique.values))
                for waiter in batch {
                    let key = ViewKey(segmentID: waiter.view.segmentID, viewerID: waiter.view.viewerID)
                    waiter.continuation.resume(returning: inserted.remove(key) != nil)
                }
            } catch where unique.count > 1 {
                // One bad view (its segment purged, its viewer deleted a moment ago) must not fail the others:
                // write them one by one, so only that one fails.
                var answered: [ViewKey: Result<Bool, any Error>] = [:]
                for (key, view) in unique {
                    do {
                        answered[key] = .success(try await write([view]).contains(key))
                    } catch {
                        answered[key] = .failure(error)
                    }
                }
                for waiter in batch {
                    let key = ViewKey(segmentID: waiter.view.segmentID, viewerID: waiter.view.viewerID)
                    switch answered[key] {
                    case .success(true):
                        answered[key] = .success(false)  // the first waiter for a key gets the new view
                        waiter.continuation.resume(returning: true)
                    case .success(false), nil:
                        waiter.continuation.resume(returning: false)
                    case .failure(let error):
                        waiter.continuation.resume(throwing: error)
                    }
                }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        }
    }
}
