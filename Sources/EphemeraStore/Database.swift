@preconcurrency import AsyncKit
import EphemeraCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import SQLiteKit
import Synchronization

/// The SQL database Ephemera keeps its metadata in: a SQLite file (WAL) by default, or PostgreSQL.
/// One SQLKit code path serves both; the few dialect differences live in `Dialect`.
public final class Database: Sendable {
    /// Which SQL engine is behind the connection.
    public enum Dialect: String, Sendable {
        case sqlite, postgres
    }

    public let dialect: Dialect
    /// Ready-made tray responses, emptied by writes (see `transaction`).
    public let trayCache = TrayCache()
    /// Accounts by session, emptied by the writes that change accounts or sessions (see `transaction`).
    public let sessionCache = SessionCache()
    /// Segments and relations for recording views, valid while the tray cache's generation stands.
    public let visibilityCache = VisibilityCache()
    public let logger: Logger
    /// Names this process in the change notifications it sends, so its own listener skips what it already did.
    public let nodeToken = IDs.make()
    /// The PostgreSQL primary's connection settings, for the listening connection (nil on SQLite).
    let postgresConfiguration: PostgresConnection.Configuration?
    /// The PostgreSQL URL as parsed (its TLS settings), to explain a failure to connect (nil on SQLite).
    let postgresURL: PostgresURL?
    /// The streaming replica reads may go to (`--database-read-url`), and whether it is caught up.
    public var replica: ReadReplica? { replicaBox.withLock { $0 } }
    private let replicaBox = Mutex<ReadReplica?>(nil)
    private let acquire: @Sendable (Logger) async throws -> (any SQLDatabase, @Sendable () -> Void)
    private let close: @Sendable () async throws -> Void
    /// SQLite allows one writer at a time; serialising write transactions in-process avoids busy-waiting
    /// on the file lock. PostgreSQL needs no such gate.
    private let writeGate: AsyncGate?
    private let inUseCount = Atomic<Int>(0)
    private let waitingCount = Atomic<Int>(0)

    private init(
        dialect: Dialect, logger: Logger, postgresURL: PostgresURL? = nil,
        acquire: @escaping @Sendable (Logger) async throws -> (any SQLDatabase, @Sendable () -> Void),
        close: @escaping @Sendable () async throws -> Void
    ) {
        self.dialect = dialect
        self.logger = logger
        self.postgresConfiguration = postgresURL?.configuration.coreConfiguration
        self.postgresURL = postgresURL
        self.acquire = acquire
        self.close = close
        self.writeGate = dialect == .sqlite ? AsyncGate() : nil
    }

    /// Opens `url`: `postgres://user[:pass]@host:port/db` (or `postgresql://`), or a SQLite file path
    /// (optionally `sqlite://PATH` / `sqlite:PATH`).
    public static func open(url: String, readURL: String? = nil, logger: Logger) throws -> Database {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            let database = try openPostgres(url: url, logger: logger)
            if let readURL {
                let replica = ReadReplica(primary: database, replica: try openPostgres(url: readURL, logger: logger))
                database.replicaBox.withLock { $0 = replica }
            }
            return database
        }
        var path = url
        for prefix in ["sqlite://", "sqlite:"] where path.hasPrefix(prefix) { path = String(path.dropFirst(prefix.count)) }
        return openSQLite(path: path, logger: logger)
    }

    static let sqliteConnections = 4

    public static func openSQLite(path: String, logger: Logger) -> Database {
        makePrivate(path)
        let connections = sqliteConnections
        // A thread pool of its own: a connection blocked on the file lock must never starve the thread that
        // would release it.
        let threadPool = NIOThreadPool(numberOfThreads: connections + 1)
        threadPool.start()
        let opened = SQLiteOpenConnections()
        let shared = SharedPool(EventLoopGroupConnectionPool(
            source: SQLiteFileSource(path: path, threadPool: threadPool, opened: opened),
            maxConnectionsPerEventLoop: connections, pruneInterval: nil, logger: logger,
            on: MultiThreadedEventLoopGroup.singleton.next()))
        return Database(
            dialect: .sqlite, logger: logger,
            acquire: { logger in
                let connection = try await shared.pool.requestConnection(logger: logger).get()
                return (connection.sql(), { shared.pool.releaseConnection(connection, logger: logger) })
            },
            close: {
                try await shared.pool.shutdownAsync()
                // The pool closes a connection that was leased, or still opening, when it shut down only later and
                // without waiting, on this thread pool: stopping the pool first would leave it open (and SQLiteNIO
                // traps on a connection dropped open). So wait for those, briefly, then close any left.
                await opened.waitUntilAllClosed()
                try await threadPool.shutdownGracefully()
            })
    }

    /// Each event loop's share of the pool: enough for the HTTP side and every job lane (the purge lanes wait on
    /// commits and the network, so a node runs eight of them, `JobWorker`) without one waiting for another's
    /// connection; two loops on two cores make 16 connections a node, well inside PostgreSQL's default 100.
    static let postgresConnectionsPerEventLoop = 8

    static func openPostgres(url: String, logger: Logger) throws -> Database {
        let parsed = try PostgresURL(url)
        let configuration = parsed.configuration
        let shared = SharedPool(EventLoopGroupConnectionPool(
            source: PostgresConnectionSource(sqlConfiguration: configuration),
            maxConnectionsPerEventLoop: postgresConnectionsPerEventLoop, pruneInterval: .seconds(60), logger: logger,
            on: MultiThreadedEventLoopGroup.singleton))
        return Database(
            dialect: .postgres, logger: logger, postgresURL: parsed,
            acquire: { logger in
                let connection = try await shared.pool.requestConnection(logger: logger).get()
                return (connection.sql(queryLogLevel: .trace), { shared.pool.releaseConnection(connection, logger: logger) })
            },
            close: { try await shared.pool.shutdownAsync() })
    }

    /// Connects once, so that a database that cannot be reached is reported at start in a sentence (where,
    /// with which TLS settings, and what to check) rather than by the first request.
    public func checkConnection() async throws {
        do {
            try await withConnection { sql in _ = try await sql.raw("SELECT 1 AS one").all() }
        } catch {
            guard let postgresURL else { throw error }
            throw PostgresURL.Problem(description: postgresURL.describe(error))
        }
    }

    /// Runs `body` with one connection from the pool.
    public func withConnection<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        waitingCount.add(1, ordering: .relaxed)
        let acquired: (any SQLDatabase, @Sendable () -> Void)
        do {
            acquired = try await acquire(logger)
            waitingCount.subtract(1, ordering: .relaxed)
        } catch {
            waitingCount.subtract(1, ordering: .relaxed)
            throw error
        }
        inUseCount.add(1, ordering: .relaxed)
        defer {
            inUseCount.subtract(1, ordering: .relaxed)
            acquired.1()
        }
        return try await body(acquired.0)
    }

    /// Connections of the primary's pool in use now, and requests waiting for one (`/metrics`).
    public var connectionsInUse: Int { inUseCount.load(ordering: .relaxed) }
    public var connectionsWaiting: Int { waitingCount.load(ordering: .relaxed) }
    /// The most connections the pool opens (SQLite: its connections; PostgreSQL: per event loop × loops).
    public var connectionLimit: Int {
        dialect == .sqlite ? Self.sqliteConnections
            : Self.postgresConnectionsPerEventLoop * NIOSingletons.groupLoopCountSuggestion
    }

    /// Runs `body` with a connection for a read that may be served by the read replica: the replica when one is
    /// configured and has replayed every write this request (or this node's recent requests) made, else the
    /// primary (see `ReadReplica`).
    public func withReadConnection<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        if let replica, let pool = replica.poolForRead() {
            // Only a failure to reach the replica sends the read to the primary; a query's own error is the caller's.
            var acquired: (any SQLDatabase, @Sendable () -> Void)?
            do { acquired = try await pool.acquire(logger) } catch { replica.markBehind(because: "\(error)") }
            if let (sql, release) = acquired {
                defer { release() }
                return try await body(sql)
            }
        }
        return try await withConnection(body)
    }

    /// Runs `body` only on the one node of the cluster holding the lock `name` (a PostgreSQL session-level
    /// advisory lock, held on one pooled connection for the duration and released by the end of the body or
    /// of the connection); returns nil without running it when another node holds it. On SQLite there is only
    /// one node.
    public func whileHolding<T: Sendable>(lock name: String, _ body: () async throws -> T) async throws -> T? {
        guard dialect == .postgres else { return try await body() }
        return try await withConnection { sql in
            guard let row = try await sql.raw("SELECT pg_try_advisory_lock(hashtext(\(bind: name))) AS held").first(),
                  try row.decode(column: "held", as: Bool.self) else { return nil }
            do {
                let result = try await body()
                _ = try? await sql.raw("SELECT pg_advisory_unlock(hashtext(\(bind: name)))").run()
                return result
            } catch {
                _ = try? await sql.raw("SELECT pg_advisory_unlock(hashtext(\(bind: name)))").run()
                throw error
            }
        }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws. A committed
    /// transaction empties the tray cache unless the caller knows it cannot change anyone's tray; `viewers`
    /// names viewers whose own trays changed (their views). On PostgreSQL the same invalidation reaches every
    /// other node through a `NOTIFY` sent inside the transaction (so a rolled-back write notifies no one; see
    /// `ChangeListener`), and a write made for a request is remembered so the request's later reads, and the
    /// author's next ones, see it (`ReadReplica`) — unless `readBack` is false: bookkeeping nobody reads from a
    /// replica (rate-limit buckets) need not wait for it.
    ///
    /// `noticeAfterCommit` sends the notice just after the commit instead (views): PostgreSQL holds a cluster-wide
    /// lock from a notifying transaction's commit until its WAL is flushed, so notifying transactions commit one
    /// at a time and never share a flush. For what only changes some viewers' rings — which every node also
    /// forgets within the tray cache's `maxAge` — a crash between commit and notice costs at most that long.
    public func transaction<T: Sendable>(
        affectingTrays: Bool = true, affectingSessions: Bool = false, viewers: Set<String> = [],
        readBack: Bool = true, noticeAfterCommit: Bool = false, _ body: (any SQLDatabase) async throws -> T
    ) async throws -> T {
        let notice = ChangeNotice(node: nodeToken, trays: affectingTrays, sessions: affectingSessions,
                                  viewers: affectingTrays ? [] : viewers)
        let result: T
        if let writeGate {
            result = try await writeGate.withLock { try await self.runTransaction(notice: nil, body) }
        } else if noticeAfterCommit {
            result = try await runTransaction(notice: nil, body)
            if !notice.isEmpty {
                do {
                    try await withConnection { sql in try await Self.notify(notice.payload, on: sql) }
                } catch {
                    // Committed all the same: other nodes drop what they cached within `maxAge`.
                    logger.warning("Could not notify other nodes of a change", metadata: ["error": "\(error)"])
                }
            }
        } else {
            result = try await runTransaction(notice: notice.isEmpty ? nil : notice.payload, body)
        }
        if readBack { RequestWrites.current?.recordWrite() }
        if affectingTrays { trayCache.invalidateAll() }
        if affectingSessions { sessionCache.invalidateAll() }
        for viewer in viewers where !affectingTrays { trayCache.invalidate(viewer: viewer) }
        return result
    }

    private func runTransaction<T: Sendable>(notice: String?, _ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await withConnection { sql in
            try await sql.raw(dialect == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN").run()
            do {
                let result = try await body(sql)
                if let fence = JobFence.current, !(try await SQLJobQueue.isHeld(fence, on: sql)) {
                    throw JobFenceLost(jobID: fence.id, attempt: fence.attempt)
                }
                if let notice { try await Self.notify(notice, on: sql) }
                try await sql.raw("COMMIT").run()
                return result
            } catch {
                try? await sql.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    /// Sends a change notice to every node's `ChangeListener`.
    private static func notify(_ payload: String, on sql: any SQLDatabase) async throws {
        try await sql.raw("SELECT pg_notify(\(bind: ChangeNotice.channel), \(bind: payload))").run()
    }

    /// Whether the database answers a trivial query.
    public func ping() async -> Bool {
        do {
            return try await withConnection { sql in try await sql.raw("SELECT 1 AS one").first() != nil }
        } catch {
            return false
        }
    }

    public func shutdown() async {
        if let replica { await replica.replica.shutdown() }
        do { try await close() } catch { logger.warning("Closing the database failed: \(error)") }
    }

    /// Stops caching (and empties the caches) while this node may miss other nodes' change notifications.
    func suspendCaches() {
        setBypass(true)
        flushCaches()
    }

    /// Caches again, from empty (notifications are heard again; what was missed meanwhile is not cached).
    func resumeCaches() {
        flushCaches()
        setBypass(false)
        flushCaches()
    }

    private func setBypass(_ value: Bool) {
        trayCache.bypass.store(value, ordering: .releasing)
        sessionCache.bypass.store(value, ordering: .releasing)
        visibilityCache.bypass.store(value, ordering: .releasing)
    }

    /// Empties every cache of this node (the listening connection dropped: notifications may have been missed).
    public func flushCaches() {
        trayCache.invalidateAll()
        sessionCache.invalidateAll()
        visibilityCache.invalidateAll()
    }
}

/// AsyncKit's pool guards its state with locks but predates `Sendable`; this box says so once.
struct SharedPool<Source: ConnectionPoolSource>: @unchecked Sendable {
    let pool: EventLoopGroupConnectionPool<Source>
    init(_ pool: EventLoopGroupConnectionPool<Source>) { self.pool = pool }
}

extension Database {
    /// The SQLite file holds every account, caption and comment: readable by this user only (0600). SQLite gives
    /// its `-wal` and `-shm` files the database file's mode, so creating the file first, private, covers them;
    /// a file an older version made 0644 is closed. Nothing happens to a file of another user's (SQLite then
    /// reports whether it can be opened).
    static func makePrivate(_ path: String) {
        let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        defer { Glibc.close(descriptor) }
        var status = stat()
        if fstat(descriptor, &status) == 0, status.st_uid == geteuid(), status.st_mode & 0o077 != 0 {
            _ = fchmod(descriptor, 0o600)
        }
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            _ = chmod(path + suffix, 0o600)
        }
    }
}

/// Opens SQLite connections with the settings Ephemera relies on.
struct SQLiteFileSource: ConnectionPoolSource {
    let path: String
    let threadPool: NIOThreadPool
    let opened: SQLiteOpenConnections

    func makeConnection(logger: Logger, on eventLoop: any EventLoop) -> EventLoopFuture<SQLiteConnection> {
        opened.beginOpening()
        let result = SQLiteConnection.open(storage: .file(path: path), threadPool: threadPool, logger: logger, on: eventLoop)
            .flatMap { connection in
                // WAL + synchronous=NORMAL survives a process kill (DESIGN.md, "Where the time goes"). The busy
                // timeout comes first: switching to WAL takes a lock another connection opening at the same moment
                // may hold, and without the timeout that is an immediate "database is locked".
                let pragmas = [
                    "PRAGMA busy_timeout = 10000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL",
                    "PRAGMA foreign_keys = ON",
                ]
                var future = eventLoop.makeSucceededVoidFuture()
                for pragma in pragmas {
                    future = future.flatMap { connection.query(pragma).map { _ in } }
                }
                // A connection that could not be set up is closed, not dropped open.
                return future.map { connection }.flatMapError { error in
                    connection.close().flatMapThrowing { throw error }
                }
            }
        result.whenComplete { [opened] outcome in opened.endOpening(try? outcome.get()) }
        return result
    }
}

/// Every SQLite connection a database's pool opened, so that closing the database can wait until each is closed
/// before it stops the thread pool that closes them.
final class SQLiteOpenConnections: Sendable {
    private let state = Mutex<(opening: Int, connections: [SQLiteConnection])>((0, []))

    func beginOpening() {
        state.withLock { $0.opening += 1 }
    }

    func endOpening(_ connection: SQLiteConnection?) {
        state.withLock { state in
            state.opening -= 1
            state.connections.removeAll { $0.isClosed }
            if let connection { state.connections.append(connection) }
        }
    }

    /// Waits up to two seconds for opens in flight to end and every connection to be closed, then closes what is
    /// still open (a connection leased past the shutdown; the pool's own later close then finds it closed).
    func waitUntilAllClosed() async {
        for _ in 0..<400 {
            let settled = state.withLock { state in state.opening == 0 && state.connections.allSatisfy(\.isClosed) }
            if settled { return }
            try? await Task.sleep(for: .milliseconds(5))
        }
        let left = state.withLock { state in state.connections.filter { !$0.isClosed } }
        for connection in left { try? await connection.close() }
    }
}

/// A FIFO async mutex.
final class AsyncGate: Sendable {
    private let state = Mutex<(locked: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func withLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state -> Bool in
                if state.locked {
                    state.waiters.append(continuation)
                    return false
                }
                state.locked = true
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}

extension Database {
    /// Whether `error` means the database cannot be reached now — down, restarting, or the connection lost —
    /// rather than a fault in what was asked: the request answers 503 `database_unavailable` and may be retried
    /// (issue 18: PostgreSQL restarted under load gave 500s).
    public static func isUnavailable(_ error: any Error) -> Bool {
        guard let psql = error as? PSQLError else { return false }
        switch psql.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
            return true
        case .server:
            // Class 08 (connection exceptions) and 57P (shutting down, crashed, not yet accepting connections).
            let state = psql.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P")
        default:
            return false
        }
    }
}
