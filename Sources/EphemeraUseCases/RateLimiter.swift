import EphemeraCore
import Synchronization

/// Token buckets per account and per address (`RateLimit.defaults`, or off), kept by a `RateBuckets` store:
/// this process's memory on a single node, the shared database on PostgreSQL so that a limit counts across every
/// node of a cluster. A refused request is a 429 `rate_limited` with `Retry-After`.
public final class RateLimiter: Sendable {
    private let limits: [RateLimit.Action: (account: RateLimit, address: RateLimit)]
    private let clock: any EphemeraClock
    private let buckets: any RateBuckets

    public init(enabled: Bool, factor: Double = 1, clock: any EphemeraClock, buckets: any RateBuckets = LocalRateBuckets()) {
        func scaled(_ limit: RateLimit) -> RateLimit {
            RateLimit(burst: max(1, (limit.burst * factor).rounded()), perMinute: limit.perMinute * factor)
        }
        self.limits = enabled ? RateLimit.defaults.mapValues { (scaled($0.account), scaled($0.address)) } : [:]
        self.clock = clock
        self.buckets = buckets
    }

    /// Throws 429 when `account` or `address` has no room left for `action`.
    public func check(_ action: RateLimit.Action, account: String?, address: String?) async throws {
        guard let limit = limits[action] else { return }
        let requests = [account.map { RateBucketRequest(key: "\(action.rawValue)|account|\($0)", limit: limit.account) },
                        address.map { RateBucketRequest(key: "\(action.rawValue)|address|\($0)", limit: limit.address) }]
            .compactMap { $0 }
        if let wait = try await buckets.take(requests, now: clock.now()) {
            throw EphemeraError(.rateLimited, "rate_limited",
                                "Too many requests; try again in \(Int(wait.rounded(.up))) seconds.")
                .retrying(after: Int(max(1, wait.rounded(.up))))
        }
    }
}

/// Buckets in this process's memory: exact for one node.
public final class LocalRateBuckets: RateBuckets {
    private let buckets = Mutex<[String: TokenBucket]>([:])

    public init() {}

    public func take(_ requests: [RateBucketRequest], now: Instant) async throws -> Double? {
        buckets.withLock { buckets in
            switch TokenBucket.takeAll(requests, from: buckets, now: now) {
            case .success(let updated):
                buckets = updated
                if buckets.count > 100_000 { buckets = buckets.filter { $0.value.updatedAt > now - .seconds(3600) } }
                return nil
            case .failure(let wait):
                return wait.seconds
            }
        }
    }
}
