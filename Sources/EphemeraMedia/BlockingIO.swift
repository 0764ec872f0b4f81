import NIOPosix

/// Runs blocking file work (reads, writes, fsync, whole-file encryption) on a thread pool of its own, never on
/// the cooperative threads that serve requests.
///
/// The pool is wider than the machine has cores because most of this work waits on the disk, not a CPU: a
/// purge lane spends its time in `fsync` (a destroyed key, a removed folder), and with NIO's shared pool (one
/// thread a core, shared with bcrypt) sixteen lanes queued behind two fsyncs at a time.
public enum BlockingIO {
    static let threads = 16

    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        return pool
    }()

    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }
}
