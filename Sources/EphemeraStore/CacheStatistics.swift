import Synchronization

/// Hits and misses of one of the node's caches, counted without a lock, read by `/metrics`.
public final class CacheStatistics: Sendable {
    private let hitCount = Atomic<Int>(0)
    private let missCount = Atomic<Int>(0)

    public init() {}

    public var hits: Int { hitCount.load(ordering: .relaxed) }
    public var misses: Int { missCount.load(ordering: .relaxed) }

    /// Counts a lookup and passes its result through.
    @inline(__always)
    func counted<T>(_ value: T?) -> T? {
        if value == nil { missCount.add(1, ordering: .relaxed) } else { hitCount.add(1, ordering: .relaxed) }
        return value
    }
}
