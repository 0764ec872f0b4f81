import EphemeraCore
import EphemeraStore
import Foundation
import Logging
import SQLKit

/// The databases the suite runs on. PostgreSQL joins when `EPHEMERA_TEST_POSTGRES_URL` names a server
/// (`script/test` starts a throwaway cluster and sets it); `EPHEMERA_REQUIRE_POSTGRES=1` makes its absence
/// a failure instead of a smaller run.
public enum Backend: String, Sendable, CaseIterable {
    case sqlite, postgres

    public static var all: [Backend] {
        let env = ProcessInfo.processInfo.environment
        if env["EPHEMERA_TEST_POSTGRES_URL"] != nil { return [.sqlite, .postgres] }
        if env["EPHEMERA_REQUIRE_POSTGRES"] == "1" {
            fatalError("EPHEMERA_REQUIRE_POSTGRES=1 but EPHEMERA_TEST_POSTGRES_URL is not set; run script/test.")
        }
        return [.sqlite]
    }
}

/// A fresh database for one test: a SQLite file in the test's folder, or a PostgreSQL database created from
/// a migrated template (`CREATE DATABASE … TEMPLATE …`, fast, and each test gets its own).
public enum TestDatabase {
    /// The URL of a new, empty-but-migrated database for one test.
    public static func make(_ backend: Backend, directory: String) async throws -> String {
        switch backend {
        case .sqlite:
            return directory + "/ephemera.sqlite"
        case .postgres:
            guard let admin = ProcessInfo.processInfo.environment["EPHEMERA_TEST_POSTGRES_URL"] else {
                fatalError("EPHEMERA_TEST_POSTGRES_URL is not set")
            }
            try await PostgresTemplate.shared.ensure(adminURL: admin)
            let name = "t_" + IDs.make().lowercased().filter { $0.isLetter || $0.isNumber }
            try await withDatabase(admin) { sql in
                try await sql.raw("CREATE DATABASE \(ident: name) TEMPLATE \(ident: PostgresTemplate.name)").run()
            }
            return replacingDatabase(in: admin, with: name)
        }
    }

    /// Opens `url`, runs `body` on one connection, and always closes the pool.
    static func withDatabase(_ url: String, _ body: (any SQLDatabase) async throws -> Void) async throws {
        let database = try Database.open(url: url, logger: quietLogger)
        do {
            try await database.withConnection(body)
        } catch {
            await database.shutdown()
            throw error
        }
        await database.shutdown()
    }

    static func replacingDatabase(in url: String, with name: String) -> String {
        guard let slash = url.range(of: "/", options: .backwards), url[..<slash.lowerBound].contains("@") else {
            return url + "/" + name
        }
        let query = url[slash.upperBound...].firstIndex(of: "?").map { String(url[$0...]) } ?? ""
        return String(url[..<slash.upperBound]) + name + query
    }

    public static let quietLogger: Logger = {
        var logger = Logger(label: "ephemera-test")
        logger.logLevel = ProcessInfo.processInfo.environment["EPHEMERA_TEST_LOG"] == "1" ? .debug : .critical
        return logger
    }()
}

/// Creates the migrated template database once per test process.
actor PostgresTemplate {
    static let shared = PostgresTemplate()
    static let name = "ephemera_test_template"
    private var creation: Task<Void, any Error>?

    /// Creates the template once; concurrent callers wait for the same creation (an actor alone would let
    /// them interleave at every await).
    func ensure(adminURL: String) async throws {
        if creation == nil {
            creation = Task { try await Self.create(adminURL: adminURL) }
        }
        try await creation!.value
    }

    static func create(adminURL: String) async throws {
        // Rebuilt on each run so migrations added since the last run are in it.
        try await TestDatabase.withDatabase(adminURL) { sql in
            try await sql.raw("DROP DATABASE IF EXISTS \(ident: name)").run()
            try await sql.raw("CREATE DATABASE \(ident: name)").run()
        }
        let template = try Database.open(
            url: TestDatabase.replacingDatabase(in: adminURL, with: name), logger: TestDatabase.quietLogger)
        do {
            try await Migrator(database: template).migrate(now: 0)
        } catch {
            await template.shutdown()
            throw error
        }
        await template.shutdown()
    }
}
