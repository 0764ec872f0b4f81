import EphemeraCore
import Foundation
import Synchronization

/// Ready-made tray responses per viewer, so `GET /api/v1/tray` costs a dictionary lookup instead of a grouped
/// query over follows ⋈ segments ⋈ views (about 5 ms of CPU for 1,000 authors on this machine kind).
///
/// Correct by construction rather than by remembering to invalidate:
/// - every write transaction empties the cache (a new generation), unless its caller says it cannot change
///   anyone's tray (`Database.transaction(affectingTrays: false)`: likes, comments, the job queue…);
/// - a view changes only its viewer's rings, so it drops only that viewer's entry;
/// - an entry is never served past the earliest `expiresAt` among the segments it shows (expiry is a matter
///   of the clock, not of a write), nor past `maxAge`, which bounds how stale a tray can be when another
///   server node wrote to the shared database.
public final class TrayCache: Sendable {
    /// What a cached value was computed against; it is served only while nothing newer happened.
    public struct Stamp: Sendable, Hashable {
        let global: UInt64
        let viewer: UInt64
    }

    struct Entry {
        var payload: Data
        var stamp: Stamp
        var validUntil: Instant
    }

    struct State {
        var global: UInt64 = 0
        var viewers: [String: UInt64] = [:]
        var entries: [String: Entry] = [:]
        var bytes = 0
    }

    private let state = Mutex(State())
    /// Set while this node cannot hear other nodes' changes (`ChangeListener`): nothing is served or kept.
    let bypass = Atomic<Bool>(false)
    /// Trays being computed, by viewer and the stamp they are computed against.
    private let flights = Mutex<[FlightKey: Task<(Data, Instant), any Error>]>([:])
    public let maxAge: Duration
    public let byteBudget: Int
    /// Lookups that found a tray, and those that did not.
    public let statistics = CacheStatistics()

    public init(maxAge: Duration = .seconds(5), byteBudget: Int = 32 << 20) {
        self.maxAge = maxAge
        self.byteBudget = byteBudget
    }

    /// The cached tray of `viewer`, if nothing it depends on changed and it has not expired.
    public func lookup(viewer: String, now: Instant) -> Data? {
        if bypass.load(ordering: .acquiring) { return statistics.counted(nil) }
        return statistics.counted(state.withLock { state in
            guard let entry = state.entries[viewer], now < entry.validUntil,
                  entry.stamp == Stamp(global: state.global, viewer: state.viewers[viewer] ?? 0) else { return nil }
            return entry.payload
        })
    }

    /// Moves on with every write that may change anyone's tray (segment states, the graph): other caches
    /// of the same facts compare it with the generation they read at (`VisibilityCache`).
    public var generation: UInt64 { state.withLock { $0.global } }

    /// Take before reading the database; `store` keeps the result only if no write happened in between.
    public func stamp(viewer: String) -> Stamp {
        state.withLock { Stamp(global: $0.global, viewer: $0.viewers[viewer] ?? 0) }
    }

    /// Keeps `payload` for `viewer` until `validUntil` (capped at `maxAge` from `now`).
    public func store(viewer: String, payload: Data, stamp: Stamp, now: Instant, validUntil: Instant) {
        if bypass.load(ordering: .acquiring) { return }
        state.withLock { state in
            guard stamp == Stamp(global: state.global, viewer: state.viewers[viewer] ?? 0) else { return }
            if let old = state.entries[viewer] { state.bytes -= old.payload.count }
            // Over budget: start afresh rather than track recency (entries live seconds anyway).
            if state.bytes + payload.count > byteBudget {
                state.entries.removeAll(keepingCapacity: true)
                state.bytes = 0
            }
            guard payload.count <= byteBudget else { return }
            state.entries[viewer] = Entry(payload: payload, stamp: stamp, validUntil: min(validUntil, now + maxAge))
            state.bytes += payload.count
        }
    }

    struct FlightKey: Hashable {
        var viewer: String
        var stamp: Stamp
    }

    /// The viewer's tray: cached, or computed by `compute` (the encoded tray and when it stops being valid)
    /// and kept. Requests that miss together share one computation instead of each running the query — when
    /// an entry lapses under load, 64 connections would otherwise all compute the same tray at once. A
    /// request joins a computation only if nothing was written since it began (the same stamp), so it never
    /// receives a tray older than its own last write.
    public func tray(viewer: String, now: Instant, compute: @escaping @Sendable () async throws -> (Data, Instant))
        async throws -> Data
    {
        if let ready = lookup(viewer: viewer, now: now) { return ready }
        let key = FlightKey(viewer: viewer, stamp: stamp(viewer: viewer))
        let task = flights.withLock { flights in
            if let running = flights[key] { return running }
            let task = Task { try await compute() }
            flights[key] = task
            return task
        }
        let result: (Data, Instant)
        do {
            result = try await task.value
        } catch {
            flights.withLock { if $0[key] == task { $0[key] = nil } }
            throw error
        }
        flights.withLock { if $0[key] == task { $0[key] = nil } }
        let (payload, validUntil) = result
        store(viewer: viewer, payload: payload, stamp: key.stamp, now: now, validUntil: validUntil)
        // Computed for an earlier `now`, it may have lapsed since; then compute afresh.
        guard now < validUntil else { return try await compute().0 }
        return payload
    }

    /// Something that may change anyone's tray was written.
    public func invalidateAll() {
        state.withLock { state in
            state.global &+= 1
            state.entries.removeAll(keepingCapacity: true)
            state.bytes = 0
            // The per-viewer counters only need to differ from cached stamps, which are gone now.
            state.viewers.removeAll(keepingCapacity: true)
        }
    }

    /// Something that changes only `viewer`'s tray (their views) was written.
    public func invalidate(viewer: String) {
        state.withLock { state in
            state.viewers[viewer, default: 0] &+= 1
            if let old = state.entries.removeValue(forKey: viewer) { state.bytes -= old.payload.count }
        }
    }
}
