import Crypto
import EphemeraCore
import Foundation
import Logging
import SQLKit

/// Data keys in a PostgreSQL database of their own (`--keyring-url`), so that every node of a cluster reads the
/// same keys and none keeps them on its disk. Each key is stored wrapped: AES-256-GCM under the key-encryption
/// key of `--master-key-file`, with the key's id as associated data (a wrapped key moved to another id does not
/// open). The database alone, or a dump of it, reveals no key without the master key file.
///
/// Destroying a key deletes its row and then vacuums the table, so the dead row is not left readable in the
/// table's pages; concurrent destroys share one vacuum. What remains are the database's WAL and its backups:
/// the operator keeps both within `--key-backup-retention`, which receipts state (README, "Keyrings").
public final class PostgresKeyring: Keyring, @unchecked Sendable {
    public let database: Database
    let masterKey: SymmetricKey
    let vacuums: Vacuums

    /// Opens the keyring database and creates its table when missing. `masterKey` must be 32 bytes.
    public static func open(url: String, masterKey: [UInt8], logger: Logger) async throws -> PostgresKeyring {
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
            throw EphemeraError(.internal, "bad_keyring_url", "--keyring-url must be a postgres:// URL.")
        }
        guard masterKey.count == 32 else {
            throw EphemeraError(.internal, "bad_master_key", "--master-key-file must hold a 32-byte key.")
        }
        let database = try Database.open(url: url, logger: logger)
        do {
            try await database.checkConnection()
            try await database.withConnection { sql in
                // The erasure ledger (ids only), beside the keys: never in a database backup.
                try await sql.raw("""
                    CREATE TABLE IF NOT EXISTS erasures (
                        kind TEXT NOT NULL,
                        id TEXT NOT NULL,
                        at BIGINT NOT NULL,
                        PRIMARY KEY (kind, id))
                    """).run()
                try await sql.raw("""
                    CREATE TABLE IF NOT EXISTS data_keys (
                        id TEXT PRIMARY KEY,
                        wrapped BYTEA NOT NULL,
                        created_at BIGINT NOT NULL)
                    """).run()
            }
        } catch {
            await database.shutdown()
            throw error
        }
        return PostgresKeyring(database: database, masterKey: SymmetricKey(data: masterKey))
    }

    init(database: Database, masterKey: SymmetricKey) {
        self.database = database
        self.masterKey = masterKey
        self.vacuums = Vacuums(database: database)
    }

    /// Nonce, ciphertext and tag of `key` under the master key, bound to `id`.
    func wrap(_ key: DataKey, id: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(Data(key.bytes), using: masterKey, authenticating: Data(id.utf8))
        guard let combined = box.combined else { throw EphemeraError(.internal, "keyring_wrap", "cannot wrap a key") }
        return [UInt8](combined)
    }

    func unwrap(_ wrapped: [UInt8], id: String) throws -> DataKey {
        guard let box = try? AES.GCM.SealedBox(combined: Data(wrapped)),
              let plain = try? AES.GCM.open(box, using: masterKey, authenticating: Data(id.utf8)),
              let key = DataKey(bytes: [UInt8](plain)) else { throw KeyringDamaged(id: id) }
        return key
    }

    public func createKey(for id: String) async throws -> DataKey {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = UInt8.random(in: .min ... .max, using: &generator) }
        let key = DataKey(bytes: bytes)!
        let wrapped = try wrap(key, id: id)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        return try await database.withConnection { sql in
            // A retried creation finds the key its first attempt made.
            try await sql.raw("""
                INSERT INTO data_keys (id, wrapped, created_at) VALUES (\(bind: id), \(bind: Data(wrapped)), \(bind: now))
                ON CONFLICT (id) DO NOTHING
                """).run()
            guard let row = try await sql.raw("SELECT wrapped FROM data_keys WHERE id = \(bind: id)").first() else {
                throw EphemeraError(.internal, "keyring_write", "the key of \(id) was not stored")
            }
            return try unwrap([UInt8](try row.decode(column: "wrapped", as: Data.self)), id: id)
        }
    }

    public func key(for id: String) async throws -> DataKey? {
        try await database.withConnection { sql in
            guard let row = try await sql.raw("SELECT wrapped FROM data_keys WHERE id = \(bind: id)").first() else { return nil }
            return try unwrap([UInt8](try row.decode(column: "wrapped", as: Data.self)), id: id)
        }
    }

    public func keys(for ids: [String]) async throws -> [String: DataKey] {
        let ids = Array(Set(ids))
        guard !ids.isEmpty else { return [:] }
        return try await database.withConnection { sql in
            var found: [String: DataKey] = [:]
            for row in try await sql.raw("SELECT id, wrapped FROM data_keys WHERE id IN (\(binds: ids))").all() {
                let id = try row.decode(column: "id", as: String.self)
                found[id] = try unwrap([UInt8](try row.decode(column: "wrapped", as: Data.self)), id: id)
            }
            return found
        }
    }

    @discardableResult
    public func destroyKey(for id: String) async throws -> Bool {
        let removed = try await database.withConnection { sql in
            try await sql.raw("DELETE FROM data_keys WHERE id = \(bind: id) RETURNING id").all().count > 0
        }
        if removed { try await vacuums.afterNow() }
        return removed
    }

    public func keyIDs() async throws -> [String] {
        try await database.withConnection { sql in
            try await sql.raw("SELECT id FROM data_keys ORDER BY id").all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    public func recordErasure(_ erasure: Erasure) async throws {
        try await database.withConnection { sql in
            try await sql.raw("""
                INSERT INTO erasures (kind, id, at) VALUES (\(bind: erasure.kind.rawValue), \(bind: erasure.id),
                \(bind: erasure.at.milliseconds)) ON CONFLICT (kind, id) DO NOTHING
                """).run()
        }
    }

    public func erasures() async throws -> [Erasure] {
        try await database.withConnection { sql in
            try await sql.raw("SELECT kind, id, at FROM erasures ORDER BY at, kind, id").all().compactMap { row in
                guard let kind = Erasure.Kind(rawValue: try row.decode(column: "kind", as: String.self)) else { return nil }
                return Erasure(kind, id: try row.decode(column: "id", as: String.self),
                               at: Instant(milliseconds: try row.decode(column: "at", as: Int64.self)))
            }
        }
    }

    public func pruneErasures(before instant: Instant) async throws -> Int {
        try await database.withConnection { sql in
            try await sql.raw("DELETE FROM erasures WHERE at < \(bind: instant.milliseconds) RETURNING id").all().count
        }
    }

    public func keyIDs(createdBefore instant: Instant) async throws -> [String] {
        try await database.withConnection { sql in
            try await sql.raw("SELECT id FROM data_keys WHERE created_at < \(bind: instant.milliseconds) ORDER BY id")
                .all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    /// The wrapped bytes as stored (tests check that no raw key is in the database).
    public func storedWrappedKey(for id: String) async throws -> [UInt8]? {
        try await database.withConnection { sql in
            try (await sql.raw("SELECT wrapped FROM data_keys WHERE id = \(bind: id)").first()?
                .decode(column: "wrapped", as: Data.self)).map { [UInt8]($0) }
        }
    }

    public func shutdown() async { await database.shutdown() }
}

/// A stored key that does not open with the master key: the wrong `--master-key-file`, or a damaged row.
public struct KeyringDamaged: Error, CustomStringConvertible, Sendable {
    public var id: String
    public var description: String {
        "the data key of \(id) does not open with this --master-key-file (a different master key, or a damaged row)"
    }
}

/// Coalesces vacuums of the key table: a caller waits for a vacuum that began after it asked, and every caller
/// waiting when one begins is served by it (a purge of 200 segments a second runs a few vacuums, not 200).
actor Vacuums {
    let database: Database
    var running = false
    var waiting: [CheckedContinuation<Void, any Error>] = []

    init(database: Database) { self.database = database }

    func afterNow() async throws {
        try await withCheckedThrowingContinuation { continuation in
            waiting.append(continuation)
            if !running {
                running = true
                Task { await self.loop() }
            }
        }
    }

    private func loop() async {
        while !waiting.isEmpty {
            let batch = waiting
            waiting = []
            do {
                // VACUUM cannot run inside a transaction block; a pooled connection outside one can run it.
                try await database.withConnection { sql in try await sql.raw("VACUUM data_keys").run() }
                for continuation in batch { continuation.resume() }
            } catch {
                for continuation in batch { continuation.resume(throwing: error) }
            }
        }
        running = false
    }
}
