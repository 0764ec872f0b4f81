import EphemeraCore
import SQLKit

/// Accounts and sessions in SQL.
public struct SQLAccountStore: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    static let columns: SQLQueryString = """
        id, handle, display_name, role, created_at, default_audience, allow_downloads, allow_comments, \
        view_history, archive_expired, language
        """

    /// Creates the account; throws `handle_taken` when the handle is in use.
    public func create(_ account: Account, passwordHash: String) async throws {
        do {
            try await database.transaction(affectingTrays: false) { sql in
                if try await sql.raw("SELECT id FROM accounts WHERE handle = \(bind: account.handle)").first() != nil {
                    throw Self.handleTaken(account.handle)
                }
                let s = account.settings
                try await sql.raw("""
                    INSERT INTO accounts (\(Self.columns), password_hash) VALUES (
                    \(bind: account.id), \(bind: account.handle), \(bind: account.displayName),
                    \(bind: account.role.rawValue), \(bind: account.createdAt.milliseconds),
                    \(bind: s.defaultAudience.rawValue), \(bind: s.allowDownloads), \(bind: s.allowComments),
                    \(bind: s.viewHistory), \(bind: s.archiveExpired), \(bind: s.language?.rawValue), \(bind: passwordHash))
                    """).run()
            }
        } catch let error as EphemeraError {
            throw error
        } catch where DatabaseErrorCode.isUniqueViolation(error) {
            throw Self.handleTaken(account.handle)
        }
    }

    static func handleTaken(_ handle: String) -> EphemeraError {
        .conflict("handle_taken", "The handle @\(handle) is taken; choose another.")
    }

    public func account(id: String) async throws -> Account? {
        try await database.withConnection { sql in
            try await sql.raw("SELECT \(Self.columns) FROM accounts WHERE id = \(bind: id)").first()
                .map(Self.account(from:))
        }
    }

    public func account(handle: String) async throws -> Account? {
        try await database.withConnection { sql in
            try await sql.raw("SELECT \(Self.columns) FROM accounts WHERE handle = \(bind: handle) AND deleted_at IS NULL").first()
                .map(Self.account(from:))
        }
    }

    /// The accounts with these ids, keyed by id; a deleted account is not among them (every read that names
    /// people names them through here, so a deleted account is named nowhere).
    public func accounts(ids: Set<String>) async throws -> [String: Account] {
        guard !ids.isEmpty else { return [:] }
        return try await database.withConnection { sql in
            var result: [String: Account] = [:]
            let all = Array(ids)
            for start in stride(from: 0, to: all.count, by: 500) {
                let chunk = Array(all[start..<min(start + 500, all.count)])
                let rows = try await sql.raw(
                    "SELECT \(Self.columns) FROM accounts WHERE id IN (\(binds: chunk)) AND deleted_at IS NULL").all()
                for row in rows {
                    let account = try Self.account(from: row)
                    result[account.id] = account
                }
            }
            return result
        }
    }

    /// The account and its password hash, for signing in.
    public func credentials(handle: String) async throws -> (Account, String)? {
        try await database.withConnection { sql in
            guard let row = try await sql.raw(
                "SELECT \(Self.columns), password_hash FROM accounts WHERE handle = \(bind: handle) AND deleted_at IS NULL").first()
            else { return nil }
            return (try Self.account(from: row), try row.decode(column: "password_hash", as: String.self))
        }
    }

    public func updateSettings(accountID: String, _ settings: AccountSettings) async throws {
        try await database.transaction(affectingTrays: false, affectingSessions: true) { sql in
            try await sql.raw("""
                UPDATE accounts SET default_audience = \(bind: settings.defaultAudience.rawValue),
                allow_downloads = \(bind: settings.allowDownloads), allow_comments = \(bind: settings.allowComments),
                view_history = \(bind: settings.viewHistory), archive_expired = \(bind: settings.archiveExpired),
                language = \(bind: settings.language?.rawValue)
                WHERE id = \(bind: accountID)
                """).run()
        }
    }

    public func setRole(handle: String, role: Role) async throws -> Bool {
        try await database.transaction(affectingTrays: false, affectingSessions: true) { sql in
            guard try await sql.raw("SELECT id FROM accounts WHERE handle = \(bind: handle)").first() != nil else {
                return false
            }
            try await sql.raw("UPDATE accounts SET role = \(bind: role.rawValue) WHERE handle = \(bind: handle)").run()
            return true
        }
    }

    // MARK: Sessions

    public func createSession(tokenHash: String, accountID: String, at now: Instant) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await sql.raw("""
                INSERT INTO sessions (token_hash, account_id, created_at)
                VALUES (\(bind: tokenHash), \(bind: accountID), \(bind: now.milliseconds))
                """).run()
        }
    }

    /// The account a session token hash belongs to (from `Database.sessionCache` when it is fresh).
    public func account(sessionTokenHash: String) async throws -> Account? {
        let cache = database.sessionCache
        if let account = cache.lookup(tokenHash: sessionTokenHash) { return account }
        let generation = cache.generation()
        let account = try await database.withConnection { sql in
            try await sql.raw("""
                SELECT \(Self.columns) FROM accounts
                WHERE id = (SELECT account_id FROM sessions WHERE token_hash = \(bind: sessionTokenHash)) AND deleted_at IS NULL
                """).first().map(Self.account(from:))
        }
        if let account { cache.store(tokenHash: sessionTokenHash, account: account, generation: generation) }
        return account
    }

    public func deleteSession(tokenHash: String) async throws {
        try await database.transaction(affectingTrays: false, affectingSessions: true) { sql in
            try await sql.raw("DELETE FROM sessions WHERE token_hash = \(bind: tokenHash)").run()
        }
    }

    static func account(from row: any SQLRow) throws -> Account {
        Account(
            id: try row.decode(column: "id", as: String.self),
            handle: try row.decode(column: "handle", as: String.self),
            displayName: try row.decode(column: "display_name", as: String.self),
            role: Role(rawValue: try row.decode(column: "role", as: String.self)) ?? .member,
            createdAt: Instant(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            settings: AccountSettings(
                defaultAudience: Audience(rawValue: try row.decode(column: "default_audience", as: String.self))
                    ?? .followers,
                allowDownloads: try row.decode(column: "allow_downloads", as: Bool.self),
                allowComments: try row.decode(column: "allow_comments", as: Bool.self),
                viewHistory: try row.decode(column: "view_history", as: Bool.self),
                archiveExpired: try row.decode(column: "archive_expired", as: Bool.self),
                language: try row.decode(column: "language", as: String?.self).flatMap(Language.init(rawValue:))))
    }

    /// Those of `ids` that name an account not deleted (the erasure ledger's replay).
    public func liveAccounts(among ids: [String]) async throws -> [Account] {
        var found: [Account] = []
        for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
            found += try await database.withConnection { sql in
                try await sql.raw("SELECT \(Self.columns) FROM accounts WHERE id IN (\(binds: chunk)) AND deleted_at IS NULL")
                    .all().map(Self.account(from:))
            }
        }
        return found
    }
}
