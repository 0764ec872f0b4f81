import EphemeraCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import SQLKit
import Synchronization

/// What a committed write changed, as one `NOTIFY` payload on `ephemera_changes`: `NODE|FLAGS|VIEWERS`, where
/// FLAGS has `t` (anyone's tray, the visibility cache), `s` (sessions and accounts) and VIEWERS lists the viewers
/// whose own tray changed (their views), comma-separated. `-|j` says a job was queued, `-|r|LSN` that the read
/// replica had not replayed LSN when a request's wait for it ran out.
public struct ChangeNotice: Sendable, Hashable {
    public static let channel = "ephemera_changes"
    /// PostgreSQL refuses payloads of 8000 bytes or more; a longer list of viewers becomes "every tray".
    static let payloadLimit = 7900

    public var node: String
    public var trays: Bool
    public var sessions: Bool
    public var viewers: [String]

    public init(node: String, trays: Bool, sessions: Bool, viewers: some Sequence<String>) {
        self.node = node
        self.trays = trays
        self.sessions = sessions
        self.viewers = viewers.sorted()
    }

    public var isEmpty: Bool { !trays && !sessions && viewers.isEmpty }

    public var payload: String {
        var flags = (trays ? "t" : "") + (sessions ? "s" : "")
        var list = viewers.joined(separator: ",")
        if node.utf8.count + flags.utf8.count + list.utf8.count + 2 > Self.payloadLimit {
            flags = "t" + (sessions ? "s" : "")
            list = ""
        }
        return "\(node)|\(flags)|\(list)"
    }

    /// What another node's listener heard.
    public enum Heard: Sendable, Hashable {
        case change(ChangeNotice)
        case jobQueued
        case replicaBehind(lsn: UInt64)
        case unreadable
    }

    public static let jobQueuedPayload = "-|j"

    public static func parse(_ payload: String) -> Heard {
        let fields = payload.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        if fields == ["-", "j"] { return .jobQueued }
        if fields.count == 3, fields[0] == "-", fields[1] == "r", let lsn = ReadReplica.lsn(fields[2]) {
            return .replicaBehind(lsn: lsn)
        }
        guard fields.count == 3, !fields[0].isEmpty, fields[1].allSatisfy({ $0 == "t" || $0 == "s" }) else { return .unreadable }
        return .change(ChangeNotice(node: fields[0], trays: fields[1].contains("t"), sessions: fields[1].contains("s"),
                                    viewers: fields[2].split(separator: ",").map(String.init)))
    }
}

/// The one `LISTEN` connection of a node, straight to the primary (never through a pooler, which would not keep
/// a session's subscription): another node's committed writes empty this node's caches within milliseconds.
/// While the connection is down, notifications are lost, so the caches are emptied when it drops, kept empty
/// (nothing is cached) until it is back, and emptied again once it listens anew.
public final class ChangeListener: Sendable {
    let database: Database
    let logger: Logger
    let onJobQueued: @Sendable () -> Void
    /// The connection's `application_name` in `pg_stat_activity`: `ephemera-listen:NODE`.
    public let applicationName: String
    /// Connections made so far (the test that cuts the connection waits for the next one).
    private let subscriptions = Atomic<Int>(0)
    private let connectionPID = Mutex<Int32?>(nil)

    public init(database: Database, nodeID: String, logger: Logger, onJobQueued: @escaping @Sendable () -> Void) {
        self.applicationName = "ephemera-listen:" + String(nodeID.prefix(40))
        self.database = database
        self.logger = logger
        self.onJobQueued = onJobQueued
    }

    /// How many times it has subscribed.
    public var subscriptionCount: Int { subscriptions.load(ordering: .acquiring) }
    /// The server process of the listening connection, while there is one (for `pg_terminate_backend` in tests).
    public var backendPID: Int32? { connectionPID.withLock { $0 } }

    /// Listens until cancelled, reconnecting after any failure (with a short backoff, at most a second).
    public func run() async {
        guard database.dialect == .postgres, let configuration = database.postgresConfiguration else { return }
        var backoff: Duration = .milliseconds(50)
        while !Task.isCancelled {
            do {
                try await listenOnce(configuration)
                backoff = .milliseconds(50)
            } catch is CancellationError {
                break
            } catch {
                if Task.isCancelled { break }
                logger.warning("Change notifications interrupted; caches emptied and bypassed until they resume",
                               metadata: ["error": "\(String(reflecting: error))"])
            }
            database.suspendCaches()
            connectionPID.withLock { $0 = nil }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(1))
        }
        database.suspendCaches()
    }

    private func listenOnce(_ configuration: PostgresConnection.Configuration) async throws {
        let connection = try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration,
            id: 0, logger: logger)
        defer { Task { try? await connection.close() } }
        let pid = try await connection.query("SELECT pg_backend_pid()", logger: logger).collect().first?
            .decode(Int32.self)
        _ = try await connection.query("SELECT set_config('application_name', \(applicationName), false)", logger: logger).collect()
        try await connection.listen(on: ChangeNotice.channel) { notifications in
            // Subscribed: whatever changed while nobody listened is unknown, so start from empty caches.
            database.resumeCaches()
            connectionPID.withLock { $0 = pid }
            subscriptions.add(1, ordering: .releasing)
            logger.debug("Listening for other nodes' changes")
            for try await notification in notifications {
                apply(ChangeNotice.parse(notification.payload))
            }
            throw DatabaseUnavailable(detail: "the listening connection closed")
        }
    }

    func apply(_ heard: ChangeNotice.Heard) {
        switch heard {
        case .change(let notice):
            guard notice.node != database.nodeToken else { return }
            if notice.trays { database.trayCache.invalidateAll() }
            if notice.sessions { database.sessionCache.invalidateAll() }
            for viewer in notice.viewers { database.trayCache.invalidate(viewer: viewer) }
        case .jobQueued:
            onJobQueued()
        case .replicaBehind(let lsn):
            database.replica?.markBehind(until: lsn)
        case .unreadable:
            database.flushCaches()
        }
    }
}

/// A connection failure (not a query's error): the caller may try elsewhere.
public struct DatabaseUnavailable: Error, CustomStringConvertible {
    public var detail: String
    public var description: String { "database unavailable: \(detail)" }
}

/// Writes made while serving one request: set by the HTTP layer around each request, so that reads later in the
/// same request go to the primary, and so the response waits until the read replica has replayed them.
public final class RequestWrites: Sendable {
    @TaskLocal public static var current: RequestWrites?

    private let wrote = Atomic<Bool>(false)

    public init() {}

    public var didWrite: Bool { wrote.load(ordering: .acquiring) }
    func recordWrite() { wrote.store(true, ordering: .releasing) }
}

/// The streaming replica of `--database-read-url`. Reads go to it unless the request itself wrote, or the replica
/// is known to be behind a write some request was told had succeeded. Read-your-writes across nodes: a request
/// that wrote does not answer until the replica has replayed the primary's WAL position after its writes
/// (normally a few milliseconds), so any read on any node after the answer sees them. When the replica does not
/// catch up within `replayWait`, the answer goes out anyway, every node is told (`-|r|LSN`), and reads go to the
/// primary until the replica has replayed that position.
public final class ReadReplica: Sendable {
    let primary: Database
    public let replica: Database
    public let replayWait: Duration
    private let behindUntil = Mutex<UInt64?>(nil)
    private let checking = Atomic<Bool>(false)

    init(primary: Database, replica: Database, replayWait: Duration = .seconds(2)) {
        self.primary = primary
        self.replica = replica
        self.replayWait = replayWait
    }

    /// `16/B374D848` as a number, or nil.
    public static func lsn(_ text: String) -> UInt64? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16),
              high <= 0xFFFF_FFFF, low <= 0xFFFF_FFFF else { return nil }
        return high << 32 | low
    }

    /// Whether reads may go to the replica now.
    public var isUsable: Bool { behindUntil.withLock { $0 == nil } }

    func poolForRead() -> Database? {
        if RequestWrites.current?.didWrite == true { return nil }
        return isUsable ? replica : nil
    }

    /// Waits until the replica has replayed everything the primary has written so far (called by the HTTP layer
    /// after a request that wrote, before it answers). Returns whether it caught up in time.
    @discardableResult
    public func waitForReplay() async -> Bool {
        guard let target = try? await primary.withConnection({ sql in
            try await sql.raw("SELECT pg_current_wal_lsn()::text AS lsn").first()?.decode(column: "lsn", as: String.self)
        }).flatMap(Self.lsn) else { return false }
        let deadline = ContinuousClock.now + replayWait
        var pause: Duration = .microseconds(500)
        while ContinuousClock.now < deadline {
            if let replayed = await replayedLSN(), replayed >= target { return true }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(20))
        }
        primary.logger.warning("The read replica has not replayed a request's writes in time; reads go to the primary until it has",
                               metadata: ["lsn": "\(target)"])
        markBehind(until: target)
        _ = try? await primary.withConnection { sql in
            try await sql.raw("SELECT pg_notify(\(bind: ChangeNotice.channel), \(bind: "-|r|\(String(target >> 32, radix: 16).uppercased())/\(String(target & 0xFFFF_FFFF, radix: 16).uppercased())"))").run()
        }
        return false
    }

    func replayedLSN() async -> UInt64? {
        try? await replica.withConnection { sql in
            try await sql.raw("SELECT pg_last_wal_replay_lsn()::text AS lsn").first()?.decode(column: "lsn", as: String?.self)
        }.flatMap(Self.lsn)
    }

    /// Reads go to the primary until the replica has replayed `lsn` (checked twice a second).
    func markBehind(until lsn: UInt64) {
        behindUntil.withLock { $0 = max($0 ?? 0, lsn) }
        startChecking()
    }

    /// The replica failed to answer: reads go to the primary until it answers again.
    func markBehind(because reason: String) {
        primary.logger.warning("The read replica is unavailable; reads go to the primary", metadata: ["error": "\(reason)"])
        markBehind(until: 0)
    }

    private func startChecking() {
        guard !checking.exchange(true, ordering: .acquiringAndReleasing) else { return }
        Task {
            defer { checking.store(false, ordering: .releasing) }
            while let target = behindUntil.withLock({ $0 }) {
                try? await Task.sleep(for: .milliseconds(500))
                if let replayed = await replayedLSN(), replayed >= target {
                    behindUntil.withLock { if let current = $0, current <= replayed { $0 = nil } }
                }
            }
        }
    }
}
