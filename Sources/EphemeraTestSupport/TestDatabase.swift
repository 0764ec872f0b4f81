import EphemeraCore
import EphemeraStore
import Foundation
import Logging
import SQLKit

/// What a test runs on: a database (SQLite, or PostgreSQL when `EPHEMERA_TEST_POSTGRES_URL` names a server) and a
/// media store (files, or an S3 bucket when `EPHEMERA_TEST_S3_ENDPOINT` names a server). `script/test` starts both
/// servers and sets `EPHEMERA_REQUIRE_POSTGRES=1` and `EPHEMERA_REQUIRE_S3=1`, which make their absence a failure
/// instead of a smaller run.
public struct Backend: Sendable, Hashable, CustomStringConvertible {
    public enum DatabaseKind: String, Sendable, Hashable { case sqlite, postgres }
    public enum MediaKind: String, Sendable, Hashable { case file, s3 }

    public var database: DatabaseKind
    public var media: MediaKind

    public static let sqlite = Backend(database: .sqlite, media: .file)
    public static let postgres = Backend(database: .postgres, media: .file)

    public var description: String { media == .file ? database.rawValue : "\(database.rawValue)+\(media.rawValue)" }

    /// Every database, with media on files.
    public static var all: [Backend] {
        let env = ProcessInfo.processInfo.environment
        if env["EPHEMERA_TEST_POSTGRES_URL"] != nil { return [.sqlite, .postgres] }
        if env["EPHEMERA_REQUIRE_POSTGRES"] == "1" {
            fatalError("EPHEMERA_REQUIRE_POSTGRES=1 but EPHEMERA_TEST_POSTGRES_URL is not set; run script/test.")
        }
        return [.sqlite]
    }

    /// Whether an S3 server is there for the tests (`script/s3 start`).
    public static var s3Available: Bool {
        let env = ProcessInfo.processInfo.environment
        if env["EPHEMERA_TEST_S3_ENDPOINT"] != nil { return true }
        if env["EPHEMERA_REQUIRE_S3"] == "1" {
            fatalError("EPHEMERA_REQUIRE_S3=1 but EPHEMERA_TEST_S3_ENDPOINT is not set; run script/test.")
        }
        return false
    }

    /// Every database on every media store: for the tests of what touches blobs (posting, media, deletion,
    /// downloads, export, tus, audit).
    public static var withStores: [Backend] {
        let env = ProcessInfo.processInfo.environment
        guard env["EPHEMERA_TEST_S3_ENDPOINT"] != nil else {
            if env["EPHEMERA_REQUIRE_S3"] == "1" {
                fatalError("EPHEMERA_REQUIRE_S3=1 but EPHEMERA_TEST_S3_ENDPOINT is not set; run script/test.")
            }
            return all
        }
        return all + all.map { Backend(database: $0.database, media: .s3) }
    }
}

/// A fresh database for one test: a SQLite file in the test's folder, or a PostgreSQL database created from
/// a migrated template (`CREATE DATABASE … TEMPLATE …`, fast, and each test gets its own).
public enum TestDatabase {
    /// The URL of a new, empty-but-migrated database for one test.
    public static func make(_ backend: Backend, directory: String) async throws -> String {
        switch backend.database {
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

    /// A new, empty PostgreSQL database (a keyring database of a test's own).
    public static func makeEmptyPostgres() async throws -> String {
        guard let admin = ProcessInfo.processInfo.environment["EPHEMERA_TEST_POSTGRES_URL"] else {
            throw TestFailure("EPHEMERA_TEST_POSTGRES_URL is not set")
        }
        let name = "k_" + IDs.make().lowercased().filter { $0.isLetter || $0.isNumber }
        try await withDatabase(admin) { sql in try await sql.raw("CREATE DATABASE \(ident: name)").run() }
        return replacingDatabase(in: admin, with: name)
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
