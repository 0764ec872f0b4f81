import EphemeraCore
import Synchronization

/// A clock tests move by hand: time passes only when the test says so.
public final class TestClock: EphemeraClock {
    private let current: Mutex<Instant>

    /// Starts at 2026-11-21T12:00:00Z unless told otherwise.
    public init(_ start: Instant = Instant(milliseconds: 1_795_262_400_000)) {
        current = Mutex(start)
    }

    public func now() -> Instant { current.withLock { $0 } }

    public func advance(by duration: Duration) {
        current.withLock { $0 = $0 + duration }
    }

    public func set(_ instant: Instant) {
        current.withLock { $0 = instant }
    }
}
