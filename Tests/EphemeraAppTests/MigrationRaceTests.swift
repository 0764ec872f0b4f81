import EphemeraStore
import EphemeraTestSupport
import Foundation
import Testing

/// Nodes of a cluster started together each migrate the same empty PostgreSQL database at start: every one of
/// them must come up, and every migration must be applied exactly once.
@Suite struct MigrationRaceTests {
    /// PostgreSQL only (SQLite has one node): on wherever the PostgreSQL tests run.
    @Test(.enabled(if: Backend.all.contains(.postgres)))
    func nodesMigratingAnEmptyDatabaseAtOnceAllStart() async throws {
        for _ in 0..<3 {
            let url = try await TestDatabase.makeEmptyPostgres()
            let databases = try (0..<4).map { _ in try Database.open(url: url, logger: TestDatabase.quietLogger) }
            let results = await withTaskGroup(of: Result<[String], any Error>.self) { group in
                for database in databases {
                    group.addTask {
                        do { return .success(try await Migrator(database: database).migrate(now: 0)) } catch { return .failure(error) }
                    }
                }
                var results: [Result<[String], any Error>] = []
                for await result in group { results.append(result) }
                return results
            }
            for database in databases { await database.shutdown() }
            let applied = try results.map { try $0.get() }
            #expect(applied.flatMap { $0 }.sorted() == Migrations.all.map(\.name).sorted(), "each migration applied once")
        }
    }
}
