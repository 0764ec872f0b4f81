import Foundation
import EphemeraCore
import EphemeraStore

/// Who someone is: signing up, signing in (the API's and the web app's forms alike), signing out, and asking
/// for the password again before anything that wipes data.
public struct Identity: Sendable {
    let accounts: SQLAccountStore
    let passwords: any PasswordHasher
    let limiter: RateLimiter
    let clock: any EphemeraClock
    let adminHandle: String?

    public init(accounts: SQLAccountStore, passwords: any PasswordHasher, limiter: RateLimiter, clock: any EphemeraClock,
                adminHandle: String?) {
        self.accounts = accounts
        self.passwords = passwords
        self.limiter = limiter
        self.clock = clock
        self.adminHandle = adminHandle
    }

    /// Creates an account and its first session; returns the account and the session token.
    public func signUp(handle: String, password: String, displayName: String?, address: String?) async throws
        -> (Account, String)
    {
        try await limiter.check(.signUp, account: nil, address: address)
        try AccountRules.validateHandle(handle)
        try AccountRules.validatePassword(password)
        let displayName = displayName?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        try AccountRules.validateDisplayName(displayName)
        let hash = try await passwords.hash(password)
        let account = Account(
            id: IDs.make(), handle: handle, displayName: displayName.isEmpty ? handle : displayName,
            role: AccountRules.initialRole(handle: handle, adminHandle: adminHandle), createdAt: clock.now(),
            settings: AccountSettings())
        try await accounts.create(account, passwordHash: hash)
        return (account, try await startSession(for: account))
    }

    /// Checks a password and starts a session. An unknown handle costs as much as a wrong password.
    public func signIn(handle: String, password: String, address: String?) async throws -> (Account, String) {
        // Per handle as well as per address: guessing one account's password from many addresses is slowed too.
        try await limiter.check(.signIn, account: "handle:" + handle, address: address)
        let found = try await accounts.credentials(handle: handle)
        let matches = try await passwords.verifySignIn(password, storedHash: found?.1)
        guard let (account, _) = found, matches else { throw EphemeraError.invalidCredentials }
        return (account, try await startSession(for: account))
    }

    /// Ends the session whose token hashes to `tokenHash`.
    public func signOut(tokenHash: String) async throws {
        try await accounts.deleteSession(tokenHash: tokenHash)
    }

    /// Saves my settings; they apply from the next request (the session cache forgets the account at once).
    public func updateSettings(of account: Account, _ settings: AccountSettings) async throws {
        try await accounts.updateSettings(accountID: account.id, settings)
    }

    /// The signed-in account, after checking its password again (a stolen session alone cannot wipe data, nor
    /// guess the password quickly: the checks are rate-limited per account and address).
    public func reauthenticate(_ account: Account, password: String?, address: String?) async throws -> Account {
        try await limiter.check(.reauthenticate, account: account.id, address: address)
        let refused = EphemeraError(.forbidden, "reauthentication_required",
                                    "Confirm with your password: send {\"password\": \"…\"} in the request body.")
        guard let password, let (_, hash) = try await accounts.credentials(handle: account.handle),
              try await passwords.verify(password, against: hash) else { throw refused }
        return account
    }

    /// A new random session token; only its hash is stored.
    func startSession(for account: Account) async throws -> String {
        let token = IDs.randomToken(bytes: 32)
        try await accounts.createSession(tokenHash: IDs.hash(token: token), accountID: account.id, at: clock.now())
        return token
    }
}
