import NIOPosix

/// Runs blocking file work (reads, writes, fsync, whole-file encryption) on NIO's thread pool, as
/// Hummingbird's FileIO does, never on the cooperative threads that serve requests.
public enum BlockingIO {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
