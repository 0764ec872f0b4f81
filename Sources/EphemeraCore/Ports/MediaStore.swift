import Foundation

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

/// A stored rendition opened for reading: its plaintext length, and its plaintext decrypted range by range
/// (only the chunks a range covers are fetched and decrypted).
public protocol MediaBlob: Sendable {
    var plaintextLength: Int64 { get }
    /// Decrypts plaintext bytes `range` (within the blob) and hands them to `body` piece by piece, in order.
    /// Throws when a chunk fails authentication: a damaged blob is never handed over as plaintext.
    func read(_ range: ClosedRange<Int64>, _ body: (Data) async throws -> Void) async throws
    /// Releases what the open blob holds (a file handle); reading after closing is an error.
    func close()
}

extension MediaBlob {
    /// The whole plaintext, piece by piece.
    public func readAll(_ body: (Data) async throws -> Void) async throws {
        guard plaintextLength > 0 else { return }
        try await read(0...(plaintextLength - 1), body)
    }
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

    /// Opens a stored rendition for reading; nil when it or the segment's key is not there.
    func open(segmentID: String, rendition: Rendition) async throws -> (any MediaBlob)?

    /// Decrypts a stored rendition into the plaintext file `path`, chunk by chunk (never the whole blob in
    /// memory). Returns false when the rendition or the key is not there.
    func decrypt(segmentID: String, rendition: Rendition, to path: String) async throws -> Bool

    /// The renditions stored for a segment.
    func renditions(segmentID: String) async throws -> Set<Rendition>

    /// Removes one rendition; idempotent.
    func remove(segmentID: String, rendition: Rendition) async throws

    /// Where a segment's blobs live, for the deletion receipt ("segment folder", "objects under media/ID/ in
    /// bucket B").
    func container(of segmentID: String) -> String

    /// Removes every blob of the segment and returns what was removed (by rendition name); idempotent.
    @discardableResult
    func removeSegment(_ segmentID: String) async throws -> [RemovedBlob]

    /// Removes half-written blobs a crash may have left for the segment.
    func removeTemporaryFiles(segmentID: String) async throws

    /// Removes partial writes begun before `instant` that a crashed process left anywhere in the store (the
    /// object store's unfinished multipart uploads, the disk's temporary files); returns how many.
    func removeAbandonedWrites(startedBefore instant: Instant) async throws -> Int

    /// Every segment id with blobs (for the audit).
    func segmentIDs() async throws -> [String]

    /// Whether the store can be used now (`/readyz`): the media folder writable, or the bucket answering.
    func isReady() async -> Bool

    /// Where a client that decrypts fetches a rendition's ciphertext as plain bytes (API.md, "Media for clients
    /// that decrypt"): a file this server sends as it is, or a presigned URL of the object store valid for
    /// `validFor` (the server then sends no media bytes at all).
    func ciphertextSource(segmentID: String, rendition: Rendition, validFor: Duration) -> CiphertextSource
}

/// Where the ciphertext of a rendition is fetched from.
public enum CiphertextSource: Sendable, Hashable {
    /// A file on this node's disk, served by Ephemera's own static route (`/ciphertext/…`).
    case file(path: String)
    /// A presigned URL of the object store.
    case presigned(url: String)
}

extension MediaStore {
    /// The whole decrypted rendition in memory (small renditions and tests only; serving streams with `open`).
    public func decryptedData(segmentID: String, rendition: Rendition) async throws -> Data? {
        guard let blob = try await open(segmentID: segmentID, rendition: rendition) else { return nil }
        defer { blob.close() }
        var data = Data()
        try await blob.readAll { data.append($0) }
        return data
    }
}

/// When a partial write is taken for abandoned by a crash (the object store's unfinished multipart uploads, the
/// disk's temporary files, a node's local copy of an upload processed elsewhere): no write of one part or one
/// upload takes this long.
public enum AbandonedWrites {
    public static let age: Duration = .seconds(3600)
}

/// Data keys no segment or upload names: a segment's key is made just before the row that names it commits, so a
/// crash in between leaves one (`ephemera audit` finds it; chaos tests made them). Which of them are a crash's
/// leftovers rather than a post still in flight.
public enum StrayKeys {
    /// A post in flight names its keys within this; an unnamed key older than it is left over.
    public static let inFlightAge: Duration = .seconds(600)
    /// How often a running node looks for leftovers (they are few, and only after a crash).
    public static let sweepInterval: Duration = .seconds(600)

    /// Unnamed keys made before this are removed. At the start of a single node (SQLite) nothing else can be
    /// posting, so every one is a leftover, however young; elsewhere a post may be in flight on another node.
    public static func cutoff(now: Instant, startingSingleNode: Bool) -> Instant {
        startingSingleNode ? now : now - inFlightAge
    }
}

/// The media store could not be reached, timed out or failed: the request that needed it answers 503
/// `media_store_unavailable` and nothing is recorded as stored; a job retries later.
public struct MediaStoreUnavailable: Error, Sendable, CustomStringConvertible {
    public var detail: String

    public init(detail: String) { self.detail = detail }

    public var description: String { "media store unavailable: \(detail)" }
}

/// S3's naming rules that a configuration is checked against before anything is sent.
public enum S3Naming {
    /// 3–63 characters of lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit.
    public static func isValidBucket(_ name: String) -> Bool {
        guard (3...63).contains(name.count), let first = name.first, let last = name.last,
              first.isLetter || first.isNumber, last.isLetter || last.isNumber else { return false }
        return name.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" }
    }
}
