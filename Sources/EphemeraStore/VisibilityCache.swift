import EphemeraCore
import Synchronization

/// What recording a view checks against the visibility rule — the segment, and the relations between viewer
/// and author — kept in memory for the busiest write path (a viewer records a view per segment watched).
///
/// An entry is used only while no write that could change it happened on this node: every change of a
/// segment's state and every graph change is a tray-affecting transaction, which moves the tray cache's
/// generation on, and an entry carries the generation it was read at. Another node's writes show within
/// `maxAge`. Only views use it: a view recorded a few seconds after another node hid the segment harms nobody
/// (the purge removes it), whereas reads of stories and media always ask the database.
public final class VisibilityCache: Sendable {
    struct Entry<Value> {
        var value: Value
        var generation: UInt64
        var until: ContinuousClock.Instant
    }

    struct State {
        var segments: [String: Entry<Segment>] = [:]
        var relations: [String: Entry<Relations>] = [:]
    }

    private let state = Mutex(State())
    /// Set while this node cannot hear other nodes' changes (`ChangeListener`): nothing is served or kept.
    let bypass = Atomic<Bool>(false)
    public let maxAge: Duration
    public let capacity: Int
    /// Lookups (segments and relations) that found a value, and those that did not.
    public let statistics = CacheStatistics()

    public init(maxAge: Duration = .seconds(5), capacity: Int = 50_000) {
        self.maxAge = maxAge
        self.capacity = capacity
    }

    func segment(_ id: String, generation: UInt64) -> Segment? {
        if bypass.load(ordering: .acquiring) { return statistics.counted(nil) }
        let now = ContinuousClock.now
        return statistics.counted(state.withLock { state in
            guard let entry = state.segments[id], entry.generation == generation, now < entry.until else { return nil }
            return entry.value
        })
    }

    func store(_ segment: Segment, generation: UInt64) {
        if bypass.load(ordering: .acquiring) { return }
        let until = ContinuousClock.now + maxAge
        state.withLock { state in
            if state.segments.count >= capacity { state.segments.removeAll(keepingCapacity: true) }
            state.segments[segment.id] = Entry(value: segment, generation: generation, until: until)
        }
    }

    func relations(viewer: String, author: String, generation: UInt64) -> Relations? {
        if bypass.load(ordering: .acquiring) { return statistics.counted(nil) }
        let now = ContinuousClock.now
        return statistics.counted(state.withLock { state in
            guard let entry = state.relations[viewer + " " + author], entry.generation == generation, now < entry.until
            else { return nil }
            return entry.value
        })
    }

    func store(_ relations: Relations, viewer: String, author: String, generation: UInt64) {
        if bypass.load(ordering: .acquiring) { return }
        let until = ContinuousClock.now + maxAge
        state.withLock { state in
            if state.relations.count >= capacity { state.relations.removeAll(keepingCapacity: true) }
            state.relations[viewer + " " + author] = Entry(value: relations, generation: generation, until: until)
        }
    }
}

extension VisibilityCache {
    /// Drops every entry (the node may have missed another node's writes).
    public func invalidateAll() {
        state.withLock { state in
            state.segments.removeAll(keepingCapacity: true)
            state.relations.removeAll(keepingCapacity: true)
        }
    }
}
