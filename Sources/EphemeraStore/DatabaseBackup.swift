import Foundation
import SQLKit
import EphemeraProcess
import Logging

/// Consistent snapshots of the database for `ephemera backup`, and putting one back.
/// SQLite: `VACUUM INTO` (a transactionally consistent copy while the server runs). PostgreSQL: `pg_dump`
/// in its custom format, restored with `pg_restore --clean`.
public enum DatabaseBackup {
    /// The file name a snapshot of `dialect` has inside a backup.
    public static func fileName(for dialect: Database.Dialect) -> String {
        dialect == .sqlite ? "database.sqlite" : "database.pgdump"
    }

    /// Writes a snapshot of `database` (reached at `url`) to `path`.
    public static func snapshot(_ database: Database, url: String, to path: String) async throws {
        switch database.dialect {
        case .sqlite:
            try await database.withConnection { sql in
                try await sql.raw("VACUUM INTO \(bind: path)").run()
            }
        case .postgres:
            try await runTool("pg_dump", ["--format=custom", "--no-owner", "--file", path, "--dbname", url])
        }
    }

    /// Replaces the database at `url` (a SQLite path, or PostgreSQL) with the snapshot at `path`.
    public static func restore(snapshot path: String, dialect: Database.Dialect, url: String) async throws {
        switch dialect {
        case .sqlite:
            let fm = FileManager.default
            for suffix in ["", "-wal", "-shm"] where fm.fileExists(atPath: url + suffix) {
                try fm.removeItem(atPath: url + suffix)
            }
            try fm.copyItem(atPath: path, toPath: url)
        case .postgres:
            try await runTool("pg_restore", ["--clean", "--if-exists", "--no-owner", "--dbname", url, path])
        }
    }

    /// A `pg_dump` (custom format) of the PostgreSQL database at `url`.
    public static func dumpPostgres(url: String, to path: String) async throws {
        try await runTool("pg_dump", ["--format=custom", "--no-owner", "--file", path, "--dbname", url])
    }

    /// pg_dump and pg_restore, through the one process runner; a backup may take a while, but not forever.
    static func runTool(_ tool: String, _ arguments: [String]) async throws {
        do {
            _ = try await ProcessRunner(logger: Logger(label: "ephemera-backup"))
                .run(tool, arguments, limits: .init(wallSeconds: 6 * 3600))
        } catch let failure as ProcessRunner.Failure {
            throw BackupError(failure.description)
        }
    }
}

/// A backup or restore that cannot go on, with a sentence saying why.
public struct BackupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
