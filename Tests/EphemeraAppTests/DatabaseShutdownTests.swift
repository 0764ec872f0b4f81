import EphemeraStore
import EphemeraTestSupport
import Foundation
import Testing

/// Closing a SQLite database while a connection is leased or still opening must close that connection too:
/// SQLiteNIO traps on a connection dropped open, and a job or request still running when a node stops (or a test
/// ends) is exactly that (a CI run crashed with "SQLiteConnection was not closed before deinitializing").
@Suite struct DatabaseShutdownTests {
    private func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ephemera-shutdown-\(UUID().uuidString).db").path
    }

    private func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    @Test func aConnectionLeasedAcrossTheShutdownIsClosed() async throws {
        let path = temporaryPath()
        defer { remove(path) }
        let database = Database.openSQLite(path: path, logger: TestDatabase.quietLogger)
        let (leased, leasedContinuation) = AsyncStream<Void>.makeStream()
        let (gate, gateContinuation) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await database.withConnection { sql in
                leasedContinuation.yield()
                for await _ in gate { break }
                _ = try await sql.raw("SELECT 1 AS one").all()
            }
        }
        for await _ in leased { break }
        let closing = Task { await database.shutdown() }
        for _ in 0..<50 { await Task.yield() }
        gateContinuation.yield()
        await closing.value
        // The holder's query ran on a connection that was still usable (the shutdown waited for it).
        try await holder.value
    }

    @Test func connectionsStillOpeningWhenTheDatabaseClosesAreClosed() async throws {
        for _ in 0..<20 {
            let path = temporaryPath()
            defer { remove(path) }
            let database = Database.openSQLite(path: path, logger: TestDatabase.quietLogger)
            let users = (0..<6).map { _ in
                Task { try? await database.withConnection { sql in _ = try await sql.raw("SELECT 1 AS one").all() } }
            }
            await database.shutdown()
            for user in users { _ = await user.value }
        }
    }
}
