import EphemeraCore
import Synchronization

/// Per-process token buckets per account and per address (`RateLimit.defaults`, or off). A refused request
/// is a 429 `rate_limited` with `Retry-After`. Behind several nodes each keeps its own buckets, which bounds
/// the total at nodes × limit; that is stated in the README.
public final class RateLimiter: Sendable {
    private let limits: [RateLimit.Action: (account: RateLimit, address: RateLimit)]
    private let clock: any EphemeraClock
    private let buckets = Mutex<[String: TokenBucket]>([:])

    public init(enabled: Bool, factor: Double = 1, clock: any EphemeraClock) {
        func scaled(_ limit: RateLimit) -> RateLimit {
            RateLimit(burst: max(1, (limit.burst * factor).rounded()), perMinute: limit.perMinute * factor)
        }
        self.limits = enabled ? RateLimit.defaults.mapValues { (scaled($0.account), scaled($0.address)) } : [:]
        self.clock = clock
    }

    /// Throws 429 when `account` or `address` has no room left for `action`.
    public func check(_ action: RateLimit.Action, account: String?, address: String?) throws {
        guard let limit = limits[action] else { return }
        let now = clock.now()
        let keys = [account.map { ("\(action.rawValue)|account|\($0)", limit.account) },
                    address.map { ("\(action.rawValue)|address|\($0)", limit.address) }].compactMap { $0 }
        let wait = buckets.withLock { buckets -> Double? in
            // Both buckets must have room; take from neither unless both do.
            var trial = buckets
            var longest: Double?
            for (key, limit) in keys {
                var bucket = trial[key] ?? TokenBucket(limit: limit, now: now)
                if let wait = bucket.take(limit: limit, now: now) { longest = max(longest ?? 0, wait) }
                trial[key] = bucket
            }
            if longest == nil {
                buckets = trial
                if buckets.count > 100_000 { buckets = buckets.filter { $0.value.updatedAt > now - .seconds(3600) } }
            }
            return longest
        }
        if let wait {
            throw EphemeraError(.rateLimited, "rate_limited",
                                "Too many requests; try again in \(Int(wait.rounded(.up))) seconds.")
                .retrying(after: Int(max(1, wait.rounded(.up))))
        }
    }
}
