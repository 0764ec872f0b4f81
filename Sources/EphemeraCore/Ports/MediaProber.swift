/// Says what a file is by looking inside it (ffprobe in EphemeraMedia), never by its name or a client's word.
public protocol MediaProber: Sendable {
    func probe(path: String) async throws -> MediaProbe
}

/// Where a received upload, and the sound track sent with it, wait in this node's private scratch area until
/// processing has made their segments. Names are upload ids (a sound track: `UploadInboxNames.sound`).
public protocol UploadInbox: Sendable {
    /// Bytes free where received files and their media are kept (the data folder), or nil where no limit is
    /// known (an object store).
    func freeBytes() async -> Int64?
    /// The local path where this node receives an incoming file (its private scratch area).
    func incomingPath(_ name: String) -> String
    /// Makes a received file durable where the worker that processes it will find it, before the row that
    /// points to it commits: fsynced in place (one node), or encrypted into the shared object store under a
    /// key of its own (several nodes: any node may process it).
    func makeDurable(incoming name: String) async throws
    /// The first `length` bytes (to judge an image by its declared size before any decoder sees it).
    func prefix(ofIncoming name: String, length: Int) async throws -> [UInt8]
    /// A local plaintext copy of the incoming file, for processing: the one this node received, or one fetched
    /// from the shared store into scratch. Nil when the file is gone.
    func fetch(incoming name: String) async throws -> String?
    /// Removes the incoming file everywhere it is (the local copy, the shared copy and its key); idempotent.
    func removeIncoming(_ name: String) async throws
    /// The incoming files held durably (for the audit).
    func incomingNames() async throws -> [String]
    /// Removes this node's local copies received before `instant` that belong to no upload in `pending` (a copy
    /// whose upload another node processed, or one a crash left); returns how many.
    func removeUnclaimedLocalCopies(keeping pending: Set<String>, receivedBefore instant: Instant) async throws -> Int
}

/// The names of files in the `UploadInbox`.
public enum UploadInboxNames {
    /// The sound track sent with upload `uploadID`.
    public static func sound(_ uploadID: String) -> String { uploadID + soundSuffix }

    public static let soundSuffix = ".sound"

    /// The key that encrypts an incoming file in a shared inbox.
    public static func keyID(_ name: String) -> String { "inbox-" + name }

    /// The incoming file a shared inbox's key belongs to.
    public static func name(ofKey keyID: String) -> String? {
        keyID.hasPrefix("inbox-") ? String(keyID.dropFirst("inbox-".count)) : nil
    }

    /// The upload an incoming file belongs to.
    public static func upload(ofIncoming name: String) -> String {
        name.hasSuffix(soundSuffix) ? String(name.dropLast(soundSuffix.count)) : name
    }
}

extension UploadInbox {
    public func freeBytes() async -> Int64? { nil }
}

/// A full disk (issue 18): a post is refused with 507 `storage_full`, before anything of it is kept, when the data
/// folder lacks room for what it will make, and when the scratch folder fills while the body streams in.
public enum StorageRules {
    /// Kept free on the data folder beyond any post's needs: the database and the keys must still be writable.
    public static let reserveBytes: Int64 = 8 << 20

    /// What a post of `uploadBytes` may need on the data folder: its renditions (a re-encode is rarely larger
    /// than the upload; a poster besides) and the reserve.
    public static func neededForPost(uploadBytes: Int64) -> Int64 { uploadBytes * 2 + reserveBytes }

    /// Refuses a post the data folder has no room for (`freeBytes` nil: no limit known).
    public static func admitPost(freeBytes: Int64?, uploadBytes: Int64) throws {
        if let freeBytes, freeBytes < neededForPost(uploadBytes: uploadBytes) { throw storageFull }
    }

    public static let storageFull = EphemeraError(
        .insufficientStorage, "storage_full",
        "The server has run out of disk space for new stories; nothing was kept. Try again later.").retrying(after: 60)
}
