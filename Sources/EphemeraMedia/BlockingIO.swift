import NIOCore
import NIOPosix

/// Runs blocking file work on thread pools of its own, never on the cooperative threads that serve requests.
///
/// Two pools, for two kinds of work:
/// - `run`: writes, fsyncs, renames and removals, which wait on the disk rather than use a CPU. A purge lane
///   spends its time in `fsync` (a destroyed key, a removed folder); with one thread a core, sixteen lanes
///   queued behind two fsyncs at a time, so this pool is wider than the machine.
/// - `read`: reading and decrypting media for responses, which uses a CPU and a megabyte of buffers a trip; as
///   many threads as cores, so a burst of readers cannot multiply the server's memory.
public enum BlockingIO {
    static let diskWaitThreads = 16

    static let diskWaits: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: diskWaitThreads)
        pool.start()
        return pool
    }()

    static let reads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: System.coreCount)
        pool.start()
        return pool
    }()

    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await diskWaits.runIfActive(body)
    }

    public static func read<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await reads.runIfActive(body)
    }
}
