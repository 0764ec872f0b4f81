import Foundation

/// Where the rules get "now" from. Production uses `SystemClock`; tests inject a clock they move by hand,
/// so expiry and restore windows are tested without sleeping.
public protocol EphemeraClock: Sendable {
    func now() -> Instant
}

/// The wall clock.
public struct SystemClock: EphemeraClock {
    public init() {}
    public func now() -> Instant { Instant(Date()) }
}
