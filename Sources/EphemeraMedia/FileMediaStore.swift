import Crypto
import EphemeraCore
import Foundation

/// Media blobs on the local disk, always encrypted (`ChunkedCipher`, one data key per segment from the
/// `FileKeyring`):
/// - `DATA/media/{segmentID}/{rendition}`: the served derivatives, encrypted;
/// - `SCRATCH/incoming/{uploadID}`: uploads waiting to be processed (never served);
/// - `SCRATCH/work/`: ffmpeg's plaintext outputs until they are encrypted into place.
///
/// The scratch area holds the only plaintext and lives outside the data directory (by default on the
/// `/dev/shm` tmpfs); it is emptied of anything unreferenced at start. A blob becomes visible only through
/// `store`: encrypted next to its final name, fsynced, renamed into place, the folder fsynced, before the
/// caller commits the row that points to it. An fsync error fails the operation; it is never retried into a
/// false success.
public struct FileMediaStore: Sendable {
    public let root: String
    public let scratch: String
    public let keyring: FileKeyring

    public init(dataDirectory: String, scratchDirectory: String, keyring: FileKeyring) throws {
        self.root = (dataDirectory as NSString).standardizingPath
        self.scratch = (scratchDirectory as NSString).standardizingPath
        self.keyring = keyring
        try FileManager.default.createDirectory(atPath: root + "/media", withIntermediateDirectories: true)
        for folder in ["incoming", "work"] {
            try FileManager.default.createDirectory(atPath: scratch + "/" + folder, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
    }

    public var incomingDirectory: String { scratch + "/incoming" }

    /// The sound track sent with an upload is kept beside it as `{upload}.sound`.
    public static let soundSuffix = ".sound"

    /// The upload an incoming file belongs to.
    public static func uploadName(ofIncoming name: String) -> String {
        name.hasSuffix(soundSuffix) ? String(name.dropLast(soundSuffix.count)) : name
    }

    public func incomingPath(_ name: String) -> String { incomingDirectory + "/" + name }

    /// A fresh plaintext path in the scratch area.
    public func workPath(_ hint: String) -> String { scratch + "/work/" + UUID().uuidString + "-" + hint }

    public func segmentDirectory(_ segmentID: String) -> String { root + "/media/" + segmentID }

    public func path(segmentID: String, rendition: Rendition) -> String {
        segmentDirectory(segmentID) + "/" + rendition.rawValue
    }

    /// Encrypts the plaintext `files` with the segment's key into their final places (durably), then removes
    /// the plaintext.
    public func store(segmentID: String, files: [Rendition: String]) throws {
        let key = try keyring.key(for: segmentID)
        try FileManager.default.createDirectory(atPath: segmentDirectory(segmentID), withIntermediateDirectories: true)
        for (rendition, plaintext) in files {
            let temporary = segmentDirectory(segmentID) + "/.tmp-\(UUID().uuidString)-" + rendition.rawValue
            do {
                try ChunkedCipher.encryptFile(source: plaintext, destination: temporary, key: key)
                try Self.fsync(path: temporary)
                let final = path(segmentID: segmentID, rendition: rendition)
                guard rename(temporary, final) == 0 else { throw Self.posixError("rename", final) }
            } catch {
                try? FileManager.default.removeItem(atPath: temporary)
                throw error
            }
            try? FileManager.default.removeItem(atPath: plaintext)
        }
        try Self.fsync(path: segmentDirectory(segmentID))
    }

    /// An open blob and its header, to serve or decrypt; nil when it is not there.
    public func open(segmentID: String, rendition: Rendition) throws -> (FileHandle, ChunkedCipher.Header, ChunkedCipher.Key)? {
        guard let handle = FileHandle(forReadingAtPath: path(segmentID: segmentID, rendition: rendition)) else { return nil }
        guard let key = try keyring.existingKey(for: segmentID) else {
            try? handle.close()
            return nil
        }
        do {
            return (handle, try ChunkedCipher.header(of: handle), ChunkedCipher.Key(key))
        } catch {
            try? handle.close()
            throw error
        }
    }

    /// The decrypted bytes of a blob (small renditions, tests and exports of one file).
    public func decryptedData(segmentID: String, rendition: Rendition) async throws -> Data? {
        guard let (handle, header, key) = try open(segmentID: segmentID, rendition: rendition) else { return nil }
        defer { try? handle.close() }
        var data = Data()
        try await ChunkedCipher.decryptAll(handle: handle, header: header, key: key.symmetricKey) { data.append($0) }
        return data
    }

    /// Removes every blob stored for a segment; returns what was removed (name and size on disk). Idempotent.
    @discardableResult
    public func deleteSegment(_ segmentID: String) throws -> [(name: String, bytes: Int64)] {
        let folder = segmentDirectory(segmentID)
        guard FileManager.default.fileExists(atPath: folder) else { return [] }
        var removed: [(String, Int64)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() {
            let size = (try? FileManager.default.attributesOfItem(atPath: folder + "/" + name)[.size] as? Int64) ?? 0
            try FileManager.default.removeItem(atPath: folder + "/" + name)
            if !name.hasPrefix(".tmp-") { removed.append((name, size ?? 0)) }
        }
        try FileManager.default.removeItem(atPath: folder)
        try Self.fsync(path: root + "/media")
        return removed
    }

    /// Removes temporary files a crash may have left in a segment's folder.
    public func removeTemporaryFiles(segmentID: String) {
        let folder = segmentDirectory(segmentID)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(".tmp-") {
            try? FileManager.default.removeItem(atPath: folder + "/" + name)
        }
    }

    /// fsyncs an incoming file and its folder before the row that points to it is committed.
    public func makeDurable(incoming name: String) throws {
        try Self.fsync(path: incomingPath(name))
        try Self.fsync(path: incomingDirectory)
    }

    public func removeIncoming(_ name: String) {
        try? FileManager.default.removeItem(atPath: incomingPath(name))
    }

    /// Empties the scratch work area, removes incoming files no upload row refers to (left by a crash between
    /// receiving a file and recording it) and temporary files in segment folders.
    public func sweepResidue(keepingIncoming keep: Set<String>) {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: scratch + "/work")) ?? [] {
            try? fm.removeItem(atPath: scratch + "/work/" + name)
        }
        for name in (try? fm.contentsOfDirectory(atPath: incomingDirectory)) ?? []
        where !keep.contains(Self.uploadName(ofIncoming: name)) {
            try? fm.removeItem(atPath: incomingPath(name))
        }
        for id in storedSegmentIDs() { removeTemporaryFiles(segmentID: id) }
    }

    /// The ids of every segment folder on disk.
    public func storedSegmentIDs() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: root + "/media"))?.filter { !$0.hasPrefix(".") } ?? []
    }

    /// The renditions present for a segment.
    public func storedRenditions(segmentID: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: segmentDirectory(segmentID))) ?? []).sorted()
    }

    static func fsync(path: String) throws {
        let fd = Foundation.open(path, O_RDONLY)
        guard fd >= 0 else { throw posixError("open", path) }
        defer { close(fd) }
        guard Foundation.fsync(fd) == 0 else { throw posixError("fsync", path) }
    }

    static func posixError(_ operation: String, _ path: String) -> any Error {
        NSError(domain: NSPOSIXErrorDomain, code: Int(errno),
                userInfo: [NSLocalizedDescriptionKey: "\(operation) \(path): \(String(cString: strerror(errno)))"])
    }
}
