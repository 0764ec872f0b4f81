/// Hashes and checks passwords (bcrypt in EphemeraApp). Slow on purpose, so implementations run off the
/// request threads.
public protocol PasswordHasher: Sendable {
    func hash(_ password: String) async throws -> String
    func verify(_ password: String, against hash: String) async throws -> Bool
    /// A hash of no one's password, made with the same cost as real ones: a sign-in for a handle that does not
    /// exist is checked against it, so the time a sign-in takes does not tell which handles exist.
    var dummyHash: String { get }
}

extension PasswordHasher {
    /// Whether `password` matches `storedHash`; with no stored hash (no such account) the check still runs,
    /// against `dummyHash`, and fails.
    public func verifySignIn(_ password: String, storedHash: String?) async throws -> Bool {
        let matches = try await verify(password, against: storedHash ?? dummyHash)
        return storedHash != nil && matches
    }
}
