import Logging
import SQLKit

/// One versioned schema change. Its `name` is stored in `schema_migrations` and never changes once landed;
/// neither do its statements. Statements are written in the SQL that SQLite and PostgreSQL share
/// (TEXT, BIGINT for epoch milliseconds, INTEGER, BOOLEAN, DOUBLE PRECISION).
public struct Migration: Sendable {
    public let name: String
    public let statements: [String]

    public init(_ name: String, _ statements: [String]) {
        self.name = name
        self.statements = statements
    }
}

/// Applies the migrations in order, each in its own transaction, recording what was applied.
public struct Migrator: Sendable {
    public let database: Database
    public let migrations: [Migration]

    public init(database: Database, migrations: [Migration] = Migrations.all) {
        self.database = database
        self.migrations = migrations
    }

    /// Applies every migration not yet applied; returns the names applied now.
    @discardableResult
    public func migrate(now: Int64) async throws -> [String] {
        try await database.transaction(affectingTrays: false) { sql in
            // Two nodes creating the table at once collide in PostgreSQL's catalog even with IF NOT EXISTS (a
            // duplicate key in pg_type): the first to take this lock creates it, the others wait and find it.
            if database.dialect == .postgres {
                try await sql.raw("SELECT pg_advisory_xact_lock(hashtext('ephemera.schema_migrations'))").run()
            }
            try await sql.raw(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)"
            ).run()
        }
        var applied: [String] = []
        for migration in migrations {
            let done = try await database.transaction { sql -> Bool in
                // Re-checked inside the transaction so two nodes starting at once apply a migration once.
                if database.dialect == .postgres {
                    try await sql.raw("LOCK TABLE schema_migrations IN EXCLUSIVE MODE").run()
                }
                let existing = try await sql.raw(
                    "SELECT name FROM schema_migrations WHERE name = \(bind: migration.name)").first()
                guard existing == nil else { return false }
                for statement in migration.statements {
                    try await sql.raw(SQLQueryString(statement)).run()
                }
                try await sql.raw(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (\(bind: migration.name), \(bind: now))"
                ).run()
                return true
            }
            if done {
                applied.append(migration.name)
                database.logger.info("Applied migration \(migration.name)")
            }
        }
        return applied
    }
}
