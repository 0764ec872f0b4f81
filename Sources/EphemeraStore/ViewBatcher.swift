import EphemeraCore

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

    private let coalescer: Coalescer<ViewRecord, Bool>

    /// `batchLimit`: views per transaction at most (three bound values each, well inside SQLite's limit);
    /// `lanes`: transactions in flight at most.
    init(batchLimit: Int = 500, lanes: Int = 1, write: @escaping Write) {
        coalescer = Coalescer(batchLimit: batchLimit, lanes: lanes) { views in await Self.write(views, with: write) }
    }

    var batchLimit: Int { coalescer.batchLimit }

    /// Records `view`; returns whether it was new (false when this viewer had already seen the segment).
    func record(_ view: ViewRecord) async throws -> Bool {
        try await coalescer.submit(view)
    }

    /// Writes one batch; answers each view in order.
    private static func write(_ views: [ViewRecord], with write: Write) async -> [Result<Bool, any Error>] {
        // The same view twice in one batch: the first is the new one.
        var unique: [ViewKey: ViewRecord] = [:]
        for view in views {
            let key = ViewKey(segmentID: view.segmentID, viewerID: view.viewerID)
            if unique[key] == nil { unique[key] = view }
        }
        do {
            var inserted = try await write(Array(unique.values))
            return views.map { .success(inserted.remove(ViewKey(segmentID: $0.segmentID, viewerID: $0.viewerID)) != nil) }
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
            return views.map { view in
                let key = ViewKey(segmentID: view.segmentID, viewerID: view.viewerID)
                switch answered[key] {
                case .success(true):
                    answered[key] = .success(false)  // the first waiter for a key gets the new view
                    return .success(true)
                case .success(false), nil:
                    return .success(false)
                case .failure(let error):
                    return .failure(error)
                }
            }
        } catch {
            return views.map { _ in .failure(error) }
        }
    }
}
