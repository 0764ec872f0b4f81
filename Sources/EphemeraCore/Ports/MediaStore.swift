/// A blob removed from a store, for the deletion receipt.
public struct RemovedBlob: Sendable, Hashable {
    public var name: String
    public var bytes: Int64

    public init(name: String, bytes: Int64) {
        self.name = name
        self.bytes = bytes
    }
}

/// Why a media store refused to write.
public enum MediaStoreRefusal: Error, Sendable, Hashable {
    /// The segment has no data key: it is being purged (or was), and nothing may be stored for it again.
    case noKey(segmentID: String)
}

/// The encrypted blobs of segments (renditions and watermarked downloads), wherever they live: files under
/// the data directory (default) or an object store. Plaintext only ever exists in the node's private scratch
/// area; every blob is encrypted with its segment's key from the `Keyring`.
public protocol MediaStore: Sendable {
    /// A fresh path in this node's private scratch area, for plaintext work files.
    func scratchPath(_ hint: String) -> String

    /// Encrypts the plaintext `files` with the segment's existing key into their places, durably, then removes
    /// the plaintext. Throws `MediaStoreRefusal.noKey` (writing nothing) when the segment has no key.
    func store(segmentID: String, files: [Rendition: String]) async throws

    /// Decrypts a stored rendition into the plaintext file `path`, chunk by chunk (never the whole blob in
    /// memory). Returns false when the rendition or the key is not there.
    func decrypt(segmentID: String, rendition: Rendition, to path: String) async throws -> Bool

    /// The renditions stored for a segment.
    func renditions(segmentID: String) async throws -> Set<Rendition>

    /// Removes one rendition; idempotent.
    func remove(segmentID: String, rendition: Rendition) async throws

    /// Removes every blob of the segment and returns what was removed; idempotent.
    @discardableResult
    func removeSegment(_ segmentID: String) async throws -> [RemovedBlob]

    /// Removes half-written blobs a crash may have left for the segment.
    func removeTemporaryFiles(segmentID: String) async throws

    /// Every segment id with blobs (for the audit).
    func segmentIDs() async throws -> [String]
}
