import EphemeraApp
import EphemeraCore
import EphemeraMedia
import EphemeraStore
import EphemeraTestSupport
import Foundation
import Testing

/// The two keyrings: the folder (default) and PostgreSQL (`--keyring-url`, keys wrapped by `--master-key-file`).
enum KeyringKind: String, Sendable, CustomStringConvertible {
    case folder, postgres
    var description: String { rawValue }

    static var all: [KeyringKind] {
        ProcessInfo.processInfo.environment["EPHEMERA_TEST_POSTGRES_URL"] != nil ? [.folder, .postgres] : [.folder]
    }

    static let masterKey: [UInt8] = (0..<32).map { UInt8($0 &* 7 &+ 3) }

    /// A fresh keyring of this kind, closed after `body`.
    func with<T: Sendable>(_ body: (any Keyring, AppConfiguration) async throws -> T) async throws -> T {
        let directory = NSTemporaryDirectory() + "ephemera-keyring-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = AppConfiguration()
        configuration.dataDirectory = directory
        switch self {
        case .folder:
            return try await body(try FileKeyring(directory: configuration.resolvedKeyringDirectory), configuration)
        case .postgres:
            let url = try await TestDatabase.makeEmptyPostgres()
            configuration.keyringURL = url
            configuration.masterKey = Self.masterKey
            let keyring = try await PostgresKeyring.open(url: url, masterKey: Self.masterKey, logger: TestDatabase.quietLogger)
            do {
                let result = try await body(keyring, configuration)
                await keyring.shutdown()
                return result
            } catch {
                await keyring.shutdown()
                throw error
            }
        }
    }
}

@Suite struct KeyringTests {
    /// The erasure ledger kept beside the keys: appended durably, read back in order, each erasure once.
    @Test(arguments: KeyringKind.all)
    func theErasureLedgerKeepsWhatWasErased(kind: KeyringKind) async throws {
        try await kind.with { keyring, _ in
            #expect(try await keyring.erasures().isEmpty)
            let first = Erasure(.account, id: "acct-1", at: Instant(milliseconds: 1_000))
            let second = Erasure(.segment, id: "seg-1", at: Instant(milliseconds: 2_000))
            try await keyring.recordErasure(first)
            try await keyring.recordErasure(second)
            try await keyring.recordErasure(first)  // a retried step records again: harmless
            let ledger = try await keyring.erasures()
            #expect(ledger.first == first && ledger.contains(second))
            #expect(Set(ledger).count == 2)
            // Pruning forgets what came before the horizon, keeps the rest, and is idempotent.
            #expect(try await keyring.pruneErasures(before: Instant(milliseconds: 1_500)) == 1)
            #expect(try await keyring.pruneErasures(before: Instant(milliseconds: 1_500)) == 0)
            #expect(try await keyring.erasures() == [second])
            let third = Erasure(.segment, id: "seg-2", at: Instant(milliseconds: 3_000))
            try await keyring.recordErasure(third)
            #expect(try await keyring.erasures() == [second, third], "appends go on after a prune")
        }
    }

    @Test(arguments: KeyringKind.all)
    func keysAreMadeOnceReadBackListedAndDestroyed(kind: KeyringKind) async throws {
        try await kind.with { keyring, _ in
            let made = try await keyring.createKey(for: "seg-a")
            #expect(try await keyring.createKey(for: "seg-a") == made, "a retried creation returns the same key")
            #expect(try await keyring.key(for: "seg-a") == made)
            #expect(try await keyring.key(for: "never") == nil, "reading never makes a key")
            _ = try await keyring.createKey(for: "seg-b")
            #expect(try await keyring.keyIDs().sorted() == ["seg-a", "seg-b"])
            let now = Instant(Date())
            #expect(try await keyring.keyIDs(createdBefore: now + .seconds(60)).sorted() == ["seg-a", "seg-b"])
            #expect(try await keyring.keyIDs(createdBefore: now - .seconds(3600)).isEmpty)
            #expect(try await keyring.destroyKey(for: "seg-a"))
            #expect(try await keyring.destroyKey(for: "seg-a") == false, "destroying is idempotent")
            #expect(try await keyring.key(for: "seg-a") == nil)
            #expect(try await keyring.keyIDs() == ["seg-b"])
        }
    }

    /// Many destroys at once (a burst of purges) all complete, sharing vacuums.
    @Test(arguments: KeyringKind.all)
    func concurrentDestroysAllComplete(kind: KeyringKind) async throws {
        try await kind.with { keyring, _ in
            for index in 0..<40 { _ = try await keyring.createKey(for: "s\(index)") }
            let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<40 { group.addTask { try await keyring.destroyKey(for: "s\(index)") } }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.allSatisfy { $0 } && results.count == 40)
            #expect(try await keyring.keyIDs().isEmpty)
        }
    }

    /// The database holds only wrapped keys: the raw key is nowhere in the row, a wrapped key does not open with
    /// another master key, nor under another segment's id.
    @Test(.enabled(if: KeyringKind.all.contains(.postgres)))
    func thePostgresKeyringStoresOnlyWrappedKeys() async throws {
        try await KeyringKind.postgres.with { keyring, configuration in
            let pg = try #require(keyring as? PostgresKeyring)
            let key = try await pg.createKey(for: "seg")
            let stored = try #require(try await pg.storedWrappedKey(for: "seg"))
            #expect(stored.count == 12 + 32 + 16)
            #expect(Data(stored).range(of: Data(key.bytes)) == nil)
            let other = try await PostgresKeyring.open(url: try #require(configuration.keyringURL),
                                                       masterKey: [UInt8](repeating: 9, count: 32),
                                                       logger: TestDatabase.quietLogger)
            await #expect(throws: KeyringDamaged.self) { _ = try await other.key(for: "seg") }
            await other.shutdown()
            try await pg.database.withConnection { sql in
                try await sql.raw("INSERT INTO data_keys (id, wrapped, created_at) SELECT 'moved', wrapped, created_at FROM data_keys WHERE id = 'seg'").run()
            }
            await #expect(throws: KeyringDamaged.self) { _ = try await pg.key(for: "moved") }
        }
    }

    /// The keyring database is classified like the main one: every column has a class.
    @Test(.enabled(if: KeyringKind.all.contains(.postgres)))
    func theKeyringSchemaIsClassified() async throws {
        try await KeyringKind.postgres.with { keyring, _ in
            let pg = try #require(keyring as? PostgresKeyring)
            let live = try await DataClassification.liveSchema(pg.database)
            #expect(live == DataClassification.keyringSchema.mapValues { Set($0.keys) })
        }
    }

    /// The whole life of a story with its key in PostgreSQL: posted, served, deleted permanently; the receipt
    /// names the key's destruction, the row is gone and the audit is clean.
    @Test(.enabled(if: KeyringKind.all.contains(.postgres)))
    func aStoryLivesAndIsPurgedWithItsKeyInPostgres() async throws {
        let url = try await TestDatabase.makeEmptyPostgres()
        try await TestApp.run(.sqlite, configure: {
            $0.keyringURL = url
            $0.masterKey = KeyringKind.masterKey
        }) { app in
            #expect(app.services.keyring is PostgresKeyring)
            #expect(!FileManager.default.fileExists(atPath: app.dataDirectory + "/keyring/keys"))
            let alice = try await app.signUp("alice")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo())[0]
            #expect(try await app.request(.get, "/media/\(id)/photo.jpg", token: alice).status == .ok)
            #expect(try await app.services.keyring.keyIDs() == [id])
            _ = try await app.request(.delete, "/api/v1/stories/\(id)?permanent=true", token: alice)
            try await app.processJobs()
            let receipt = try await app.request(.get, "/api/v1/stories/\(id)/deletion-receipt", token: alice)
            #expect(receipt.status == .ok && receipt.text.contains("data key destroyed"))
            #expect(try await app.services.keyring.keyIDs().isEmpty)
        }
    }

    @Test(arguments: KeyringKind.all)
    func keyringBackupsRotateAfterTheRetention(kind: KeyringKind) async throws {
        try await kind.with { keyring, configuration in
            _ = try await keyring.createKey(for: "segment")
            let backups = configuration.dataDirectory + "/backups"
            let clock = TestClock()
            let week = Duration.seconds(7 * 86400)
            let first = try await Backups.backupKeyring(configuration: configuration, to: backups, retention: week, now: clock.now())
            #expect(first.written.hasSuffix(kind == .folder ? ".tar" : ".dump"))
            clock.advance(by: .seconds(3 * 86400))
            let second = try await Backups.backupKeyring(configuration: configuration, to: backups, retention: week, now: clock.now())
            #expect(second.deleted.isEmpty)
            clock.advance(by: .seconds(5 * 86400))
            let third = try await Backups.backupKeyring(configuration: configuration, to: backups, retention: week, now: clock.now())
            #expect(third.deleted == [first.written])
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: backups)) == [second.written, third.written])
        }
    }

    /// A missing or wrong-length master key file stops the server at start, naming the flag.
    @Test func aBadMasterKeyFileIsAStartUpErrorNamingTheFlag() throws {
        let directory = NSTemporaryDirectory() + "ephemera-master-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keyringURL = "postgres://nobody@127.0.0.1:1/keys"
        let missing = try ServerProcess.runCommand(["serve", "--data-dir", directory, "--keyring-url", keyringURL,
                                                    "--master-key-file", directory + "/absent.key"])
        #expect(missing.status != 0 && missing.output.contains("--master-key-file") && missing.output.contains("cannot read"))
        FileManager.default.createFile(atPath: directory + "/short.key", contents: Data(repeating: 1, count: 16))
        let short = try ServerProcess.runCommand(["serve", "--data-dir", directory, "--keyring-url", keyringURL,
                                                  "--master-key-file", directory + "/short.key"])
        #expect(short.status != 0 && short.output.contains("--master-key-file") && short.output.contains("32-byte"))
        let none = try ServerProcess.runCommand(["serve", "--data-dir", directory, "--keyring-url", keyringURL])
        #expect(none.status != 0 && none.output.contains("--master-key-file"))
        // 64 hex digits (as `openssl rand -hex 32` writes them) are accepted.
        try (String(repeating: "ab", count: 32) + "\n").write(toFile: directory + "/hex.key", atomically: true, encoding: .utf8)
        guard case .success(let bytes) = MasterKeyFile.read(directory + "/hex.key") else {
            Issue.record("a hex master key was refused")
            return
        }
        #expect(bytes == [UInt8](repeating: 0xAB, count: 32))
    }
}
