/// Where rate-limit buckets are kept: in this process (one node), or in the database every node shares, so a
/// limit counts per account across the cluster. The arithmetic is `TokenBucket`'s either way.
public protocol RateBuckets: Sendable {
    /// Takes one token from each named bucket, or from none of them: nil when taken, otherwise how many seconds
    /// until every one of them has room.
    func take(_ buckets: [RateBucketRequest], now: Instant) async throws -> Double?
}

/// One bucket to take from: its key (action, what it counts — an account or an address) and its limit.
public struct RateBucketRequest: Sendable, Hashable {
    public var key: String
    public var limit: RateLimit

    public init(key: String, limit: RateLimit) {
        self.key = key
        self.limit = limit
    }
}

extension TokenBucket {
    /// Takes from every bucket of `requests` (their states in `buckets`, missing ones full), or from none: the
    /// new states when all had room, else the longest wait. The one rule both stores apply.
    public static func takeAll(_ requests: [RateBucketRequest], from buckets: [String: TokenBucket], now: Instant)
        -> Result<[String: TokenBucket], Wait>
    {
        var trial = buckets
        var longest: Double?
        for request in requests {
            var bucket = trial[request.key] ?? TokenBucket(limit: request.limit, now: now)
            if let wait = bucket.take(limit: request.limit, now: now) { longest = max(longest ?? 0, wait) }
            trial[request.key] = bucket
        }
        if let longest { return .failure(Wait(seconds: longest)) }
        return .success(trial)
    }

    public struct Wait: Error, Sendable, Hashable { public var seconds: Double }
}
