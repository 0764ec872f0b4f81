/// What is rate limited, and how much: a bucket of `burst` requests refilled at `perMinute`, per account and
/// per address (both must have room).
public struct RateLimit: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable, CaseIterable {
        case signUp, signIn, like, comment, share, report
        /// A quick reaction, and a private reply to a story.
        case react, reply
        /// A viewer's report of how they moved through a story (insights).
        case navigate
        /// A post, or the creation of a resumable upload (which becomes one).
        case post
        /// A password asked again before wiping data (`DELETE /api/v1/me`, `DELETE /api/v1/me/stories`).
        case reauthenticate
    }

    public var burst: Double
    public var perMinute: Double

    public init(burst: Double, perMinute: Double) {
        self.burst = burst
        self.perMinute = perMinute
    }

    /// The defaults: generous for people, tight for scripts.
    public static let defaults: [Action: (account: RateLimit, address: RateLimit)] = [
        .signUp: (RateLimit(burst: 5, perMinute: 5.0 / 60), RateLimit(burst: 5, perMinute: 5.0 / 60)),
        .signIn: (RateLimit(burst: 10, perMinute: 10), RateLimit(burst: 30, perMinute: 30)),
        .like: (RateLimit(burst: 60, perMinute: 60), RateLimit(burst: 300, perMinute: 300)),
        .comment: (RateLimit(burst: 20, perMinute: 20), RateLimit(burst: 100, perMinute: 100)),
        .share: (RateLimit(burst: 30, perMinute: 30), RateLimit(burst: 150, perMinute: 150)),
        .react: (RateLimit(burst: 60, perMinute: 60), RateLimit(burst: 300, perMinute: 300)),
        .reply: (RateLimit(burst: 20, perMinute: 20), RateLimit(burst: 100, perMinute: 100)),
        .navigate: (RateLimit(burst: 120, perMinute: 120), RateLimit(burst: 600, perMinute: 600)),
        .report: (RateLimit(burst: 10, perMinute: 2), RateLimit(burst: 30, perMinute: 10)),
        // A busy day is a few dozen stories; a burst of 20, then one every 30 s.
        .post: (RateLimit(burst: 20, perMinute: 2), RateLimit(burst: 60, perMinute: 6)),
        // A person mistypes a password a few times; a stolen session must not be a way to guess it.
        .reauthenticate: (RateLimit(burst: 5, perMinute: 1), RateLimit(burst: 20, perMinute: 5)),
    ]
}

/// A token bucket, pure: the caller keeps it and hands in the time.
public struct TokenBucket: Sendable, Hashable {
    public var tokens: Double
    public var updatedAt: Instant

    public init(limit: RateLimit, now: Instant) {
        tokens = limit.burst
        updatedAt = now
    }

    /// Takes one token if there is one; otherwise returns how many seconds until there will be.
    public mutating func take(limit: RateLimit, now: Instant) -> Double? {
        let elapsed = Double(max(0, now.milliseconds - updatedAt.milliseconds)) / 60_000
        tokens = min(limit.burst, tokens + elapsed * limit.perMinute)
        updatedAt = now
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return (1 - tokens) / limit.perMinute * 60
    }
}
