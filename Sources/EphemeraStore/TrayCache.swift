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
    public struct Stamp: Sendable, Equatable {
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
    public let maxAge: Duration
    public let byteBudget: Int

    public init(maxAge: Duration = .seconds(5), byteBudget: Int = 32 << 20) {
        self.maxAge = maxAge
        self.byteBudget = byteBudget
    }

    /// The cached tray of `viewer`, if nothing it depends on changed and it has not expired.
    public func lookup(viewer: String, now: Instant) -> Data? {
        state.withLock { state in
            guard let entry = state.entries[viewer], now < entry.validUntil,
                  entry.stamp == Stamp(global: state.global, viewer: state.viewers[viewer] ?? 0) else { return nil }
            return entry.payload
        }
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
