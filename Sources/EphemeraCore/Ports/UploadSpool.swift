/// Where a resumable (tus) upload's bytes collect across requests, restarts and (on an object store) nodes,
/// encrypted under the upload's own key (`upload-{id}`) until the last byte arrives and the spool is assembled
/// into the node's scratch for posting.
///
/// A writer appends after the committed position and reports a new one after `sync()`; only once the
/// database has recorded that position do the bytes count. Whatever a writer left past the committed
/// position (a torn record, a request refused or cut off before its commit) is ignored by `assemble` and
/// removed with the spool.
public protocol UploadSpool: Sendable {
    /// Creates the empty spool and its key, durably.
    func create(_ id: String) async throws
    /// A writer that appends after `committed`.
    func writer(_ id: String, committed: SpoolPosition) async throws -> any UploadSpoolWriter
    /// Decrypts the committed bytes into `destination` (plaintext, in the node's scratch).
    func assemble(_ id: String, committed: SpoolPosition, to destination: String) async throws
    /// Removes the spool and destroys its key. Idempotent.
    func remove(_ id: String) async throws
    /// The ids of every spool the store holds (the audit and the janitor compare them with the rows).
    func spoolIDs() async throws -> Set<String>
}

/// How much of a spool is committed: plaintext bytes, the spool bytes that hold them, and (on an object
/// store, where each write is an object of its own) the names of the committed parts in order.
public struct SpoolPosition: Sendable, Hashable {
    public var offset: Int64
    public var storedBytes: Int64
    public var parts: [String]

    public init(offset: Int64, storedBytes: Int64, parts: [String] = []) {
        self.offset = offset
        self.storedBytes = storedBytes
        self.parts = parts
    }

    public static let empty = SpoolPosition(offset: 0, storedBytes: 0)
}

/// Appends plaintext to a spool. One request writes a spool at a time (the upload's lock), so a writer is
/// handed between the request's task and the threads that seal and store for it, never used by two at once.
public protocol UploadSpoolWriter: AnyObject, Sendable {
    /// The position that may be recorded in the database after `sync()`.
    var committed: SpoolPosition { get }
    /// Plaintext bytes received by this writer so far, stored or pending.
    var received: Int64 { get }
    /// Takes plaintext; it is sealed and stored by `flush()` and `sync()`.
    func append(_ bytes: UnsafeRawBufferPointer)
    /// Seals and stores what is pending once enough has collected.
    func flush() async throws
    /// Stores everything pending, durably; afterwards `committed` may be recorded.
    func sync() async throws
    /// Drops everything stored since the last `sync()` (a refused or unverifiable request).
    func discard() async
}

/// The keyring names of spools.
public enum UploadSpoolNames {
    /// The keyring id of resumable upload `id`'s key.
    public static func keyID(_ id: String) -> String { "upload-" + id }
    /// Whether a keyring entry belongs to a resumable upload, and to which.
    public static func uploadID(ofKey keyID: String) -> String? {
        keyID.hasPrefix("upload-") ? String(keyID.dropFirst("upload-".count)) : nil
    }
}
