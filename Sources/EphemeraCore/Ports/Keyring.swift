/// A 256-bit data key: one per segment, and one per resumable upload's spool.
public struct DataKey: Sendable, Hashable {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }
}

/// Where data keys live, apart from the media and its backups (DESIGN.md, "Storage"): a folder by default.
/// A key comes to exist only through `createKey`, called when its segment (or upload) is created and before
/// the row that names it commits; nothing else ever makes one, so once a purge destroyed a key nothing can
/// encrypt a blob for that segment again.
public protocol Keyring: Sendable {
    /// Makes and durably stores a new random key for `id` (returning the existing one if a retried creation
    /// already made it).
    func createKey(for id: String) async throws -> DataKey
    /// The stored key, or nil when there is none (never made, or destroyed). Never makes one.
    func key(for id: String) async throws -> DataKey?
    /// The stored keys of those of `ids` that have one (a default implementation asks one at a time).
    func keys(for ids: [String]) async throws -> [String: DataKey]
    /// Destroys the key durably; returns whether there was one. Idempotent.
    @discardableResult
    func destroyKey(for id: String) async throws -> Bool
    /// Every id with a key (for the audit).
    func keyIDs() async throws -> [String]
    /// The ids whose keys were made before `instant` (keys a crash left between making a key and committing
    /// the row that names it are found among these).
    func keyIDs(createdBefore instant: Instant) async throws -> [String]
    /// Adds to the erasure ledger, durably, before the erasure itself commits (recording one twice is harmless:
    /// replaying it is idempotent).
    func recordErasure(_ erasure: Erasure) async throws
    /// The whole erasure ledger, oldest first.
    func erasures() async throws -> [Erasure]
    /// Forgets the erasures made before `instant` (`BackupRetention.ledgerHorizon`); returns how many.
    func pruneErasures(before instant: Instant) async throws -> Int
}

/// One line of the erasure ledger (DESIGN.md, "Deletion and backups"): an account deleted or a segment purged,
/// by id and time, nothing else. It is kept beside the keyring, never in a database backup, so that restoring an
/// older backup can erase again whatever was erased after it was taken, before the restored server answers.
public struct Erasure: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable { case account, segment }

    public var kind: Kind
    public var id: String
    public var at: Instant

    public init(_ kind: Kind, id: String, at: Instant) {
        self.kind = kind
        self.id = id
        self.at = at
    }
}

extension Keyring {
    /// The stored keys of `ids` (those that have one), for a list of segments handed out with their keys. A
    /// keyring that can fetch many at once (a database) does so in one round trip.
    public func keys(for ids: [String]) async throws -> [String: DataKey] {
        var found: [String: DataKey] = [:]
        for id in Set(ids) {
            if let key = try await key(for: id) { found[id] = key }
        }
        return found
    }
}
