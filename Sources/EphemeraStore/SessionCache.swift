import EphemeraCore
import Synchronization

/// Accounts by session token hash, so an authenticated request does not cost a SQL round trip before it
/// starts (on cached reads — the tray, media — that lookup was the largest fixed cost left).
///
/// Emptied by every write that could change what it holds: sign-out, account deletion, settings and role
/// changes (`Database.transaction` empties it with the tray cache, and the few account writes that do not
/// affect trays empty it themselves). Another process's writes — a second server node, or `ephemera user
/// promote` run beside a live server — show within `maxAge`, measured on the monotonic clock because this
/// is a cache bound, not a rule about stories.
public final class SessionCache: Sendable {
    struct Entry {
        var account: Account
        var until: ContinuousClock.Instant
    }

    struct State {
        var generation: UInt64 = 0
        var entries: [String: Entry] = [:]
    }

    private let state = Mutex(State())
    /// Set while this node cannot hear other nodes' changes (`ChangeListener`): nothing is served or kept.
    let bypass = Atomic<Bool>(false)
    public let maxAge: Duration
    public let capacity: Int
    /// Lookups that found a session, and those that did not.
    public let statistics = CacheStatistics()

    public init(maxAge: Duration = .seconds(5), capacity: Int = 50_000) {
        self.maxAge = maxAge
        self.capacity = capacity
    }

    /// The cached account of a session, if one is fresh.
    public func lookup(tokenHash: String) -> Account? {
        if bypass.load(ordering: .acquiring) { return statistics.counted(nil) }
        let now = ContinuousClock.now
        return statistics.counted(state.withLock { state in
            guard let entry = state.entries[tokenHash] else { return nil }
            guard now < entry.until else {
                state.entries[tokenHash] = nil
                return nil
            }
            return entry.account
        })
    }

    /// Take before reading the database; `store` keeps the result only if nothing was invalidated meanwhile.
    public func generation() -> UInt64 {
        state.withLock { $0.generation }
    }

    public func store(tokenHash: String, account: Account, generation: UInt64) {
        if bypass.load(ordering: .acquiring) { return }
        let until = ContinuousClock.now + maxAge
        state.withLock { state in
            guard state.generation == generation else { return }
            // Full: start afresh rather than track recency (entries live seconds anyway).
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[tokenHash] = Entry(account: account, until: until)
        }
    }

    /// A session or an account changed.
    public func invalidateAll() {
        state.withLock { state in
            state.generation &+= 1
            state.entries.removeAll(keepingCapacity: true)
        }
    }
}
