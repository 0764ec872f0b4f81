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
public struct FileMediaStore: MediaStore, UploadInbox {
    public let root: String
    public let scratch: String
    public let keyring: any Keyring
    /// Makes a written blob durable (`fsync`); a test replaces it to make the disk fail.
    public var syncFile: @Sendable (String) throws -> Void = { try FileMediaStore.fsync(path: $0) }

    public init(dataDirectory: String, scratchDirectory: String, keyring: any Keyring) throws {
        self.root = (dataDirectory as NSString).standardizingPath
        self.scratch = (scratchDirectory as NSString).standardizingPath
        self.keyring = keyring
        try PrivateDirectory.ensure(root, tighten: true)
        try FileManager.default.createDirectory(atPath: root + "/media", withIntermediateDirectories: true)
        // The scratch area holds plaintext: refused when it is not ours alone (`PrivateDirectory`).
        try PrivateDirectory.ensure(scratch)
        for folder in ["incoming", "work"] { try PrivateDirectory.ensure(scratch + "/" + folder) }
    }

    public var incomingDirectory: String { scratch + "/incoming" }


    public func incomingPath(_ name: String) -> String { incomingDirectory + "/" + name }

    /// A fresh plaintext path in the scratch area.
    public func workPath(_ hint: String) -> String { scratch + "/work/" + UUID().uuidString + "-" + hint }

    public func segmentDirectory(_ segmentID: String) -> String { root + "/media/" + segmentID }

    public func ciphertextSource(segmentID: String, rendition: Rendition, validFor: Duration) -> CiphertextSource {
        .file(path: path(segmentID: segmentID, rendition: rendition))
    }

    public func path(segmentID: String, rendition: Rendition) -> String {
        segmentDirectory(segmentID) + "/" + rendition.rawValue
    }

    public func scratchPath(_ hint: String) -> String { workPath(hint) }

    public func container(of segmentID: String) -> String { "segment folder" }

    public func store(segmentID: String, files: [Rendition: String]) async throws {
        // Only an existing key: a segment being purged has none, and nothing is stored for it again.
        guard let key = try await keyring.key(for: segmentID) else {
            throw MediaStoreRefusal.noKey(segmentID: segmentID)
        }
        let folder = segmentDirectory(segmentID)
        try await BlockingIO.run {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for (rendition, plaintext) in files {
                let temporary = folder + "/.tmp-\(UUID().uuidString)-" + rendition.rawValue
                do {
                    try ChunkedCipher.encryptFile(source: plaintext, destination: temporary, key: key.symmetricKey)
                    try syncFile(temporary)
                    let final = path(segmentID: segmentID, rendition: rendition)
                    guard rename(temporary, final) == 0 else { throw Self.posixError("rename", final) }
                } catch {
                    try? FileManager.default.removeItem(atPath: temporary)
                    throw error
                }
                try? FileManager.default.removeItem(atPath: plaintext)
            }
            try Self.fsync(path: folder)
        }
    }

    /// A blob file opened for reading, decrypted on the thread pool a batch of chunks at a time.
    final class FileBlob: MediaBlob, @unchecked Sendable {
        let handle: FileHandle
        let header: ChunkedCipher.Header
        let key: ChunkedCipher.Key

        init(handle: FileHandle, header: ChunkedCipher.Header, key: ChunkedCipher.Key) {
            self.handle = handle
            self.header = header
            self.key = key
        }

        var plaintextLength: Int64 { header.plaintextLength }

        func read(_ range: ClosedRange<Int64>, _ body: (Data) async throws -> Void) async throws {
            try await ChunkedCipher.decrypt(handle: handle, header: header, range: range, key: key.symmetricKey, body)
        }

        func close() { try? handle.close() }
    }

    /// An open blob, to serve or decrypt; nil when it or the key is not there.
    public func open(segmentID: String, rendition: Rendition) async throws -> (any MediaBlob)? {
        guard let key = try await keyring.key(for: segmentID) else { return nil }
        let file = path(segmentID: segmentID, rendition: rendition)
        return try await BlockingIO.run {
            guard let handle = FileHandle(forReadingAtPath: file) else { return nil }
            do {
                return FileBlob(handle: handle, header: try ChunkedCipher.header(of: handle), key: ChunkedCipher.Key(key.symmetricKey))
            } catch {
                try? handle.close()
                throw error
            }
        }
    }

    public func decrypt(segmentID: String, rendition: Rendition, to destination: String) async throws -> Bool {
        guard let blob = try await open(segmentID: segmentID, rendition: rendition) else { return false }
        defer { blob.close() }
        guard FileManager.default.createFile(atPath: destination, contents: nil, attributes: [.posixPermissions: 0o600]),
              let output = FileHandle(forWritingAtPath: destination) else {
            throw ChunkedCipher.CipherError.io("cannot write \(destination)")
        }
        defer { try? output.close() }
        try await blob.readAll { chunk in try output.write(contentsOf: chunk) }
        return true
    }

    public func renditions(segmentID: String) async throws -> Set<Rendition> {
        Set(storedRenditions(segmentID: segmentID).compactMap(Rendition.init(rawValue:)))
    }

    public func remove(segmentID: String, rendition: Rendition) async throws {
        let file = path(segmentID: segmentID, rendition: rendition)
        let folder = segmentDirectory(segmentID)
        try await BlockingIO.run {
            guard FileManager.default.fileExists(atPath: file) else { return }
            try FileManager.default.removeItem(atPath: file)
            try Self.fsync(path: folder)
        }
    }

    public func isReady() async -> Bool {
        FileManager.default.isWritableFile(atPath: root + "/media")
    }

    public func segmentIDs() async throws -> [String] { storedSegmentIDs() }

    /// Removes every blob stored for a segment; returns what was removed (name and size on disk). Idempotent.
    @discardableResult
    public func removeSegment(_ segmentID: String) async throws -> [RemovedBlob] {
        let folder = segmentDirectory(segmentID)
        let media = root + "/media"
        return try await BlockingIO.run {
            guard FileManager.default.fileExists(atPath: folder) else { return [] }
            var removed: [RemovedBlob] = []
            for name in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() {
                let size = (try? FileManager.default.attributesOfItem(atPath: folder + "/" + name)[.size] as? Int64) ?? 0
                try FileManager.default.removeItem(atPath: folder + "/" + name)
                if !name.hasPrefix(".tmp-") { removed.append(RemovedBlob(name: name, bytes: size)) }
            }
            try FileManager.default.removeItem(atPath: folder)
            try Self.fsync(path: media)
            return removed
        }
    }

    /// Removes temporary files a crash may have left in a segment's folder.
    public func removeTemporaryFiles(segmentID: String) async throws {
        removeTemporaryFilesSync(segmentID: segmentID)
    }

    func removeTemporaryFilesSync(segmentID: String) {
        let folder = segmentDirectory(segmentID)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(".tmp-") {
            try? FileManager.default.removeItem(atPath: folder + "/" + name)
        }
    }

    public func removeAbandonedWrites(startedBefore instant: Instant) async throws -> Int {
        let cutoff = Date(timeIntervalSince1970: Double(instant.milliseconds) / 1000)
        let ids = storedSegmentIDs()
        return try await BlockingIO.run {
            var removed = 0
            for id in ids {
                let folder = segmentDirectory(id)
                for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(".tmp-") {
                    let path = folder + "/" + name
                    let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
                    guard (modified ?? .distantPast) < cutoff, (try? FileManager.default.removeItem(atPath: path)) != nil
                    else { continue }
                    removed += 1
                }
            }
            return removed
        }
    }

    /// The data folder's free bytes (what an unprivileged writer may use), where renditions are kept.
    public func freeBytes() async -> Int64? {
        var stats = statvfs()
        guard statvfs(root, &stats) == 0 else { return nil }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize)
    }

    /// fsyncs an incoming file and its folder before the row that points to it is committed.
    public func makeDurable(incoming name: String) async throws {
        let (file, folder) = (incomingPath(name), incomingDirectory)
        try await BlockingIO.run {
            try Self.fsync(path: file)
            try Self.fsync(path: folder)
        }
    }

    public func prefix(ofIncoming name: String, length: Int) async throws -> [UInt8] {
        let file = incomingPath(name)
        return try await BlockingIO.run {
            guard let handle = FileHandle(forReadingAtPath: file) else { return [] }
            defer { try? handle.close() }
            return [UInt8](try handle.read(upToCount: length) ?? Data())
        }
    }

    public func fetch(incoming name: String) async throws -> String? {
        let path = incomingPath(name)
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    public func removeIncoming(_ name: String) async throws {
        removeLocalIncoming(name)
    }

    /// Removes this node's copy of an incoming file.
    public func removeLocalIncoming(_ name: String) {
        try? FileManager.default.removeItem(atPath: incomingPath(name))
    }

    public func removeUnclaimedLocalCopies(keeping pending: Set<String>, receivedBefore instant: Instant) async throws -> Int {
        let cutoff = Date(timeIntervalSince1970: Double(instant.milliseconds) / 1000)
        let folder = incomingDirectory
        return try await BlockingIO.run {
            var removed = 0
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            where !pending.contains(UploadInboxNames.upload(ofIncoming: name)) {
                let path = folder + "/" + name
                let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
                guard (modified ?? .distantPast) < cutoff, (try? FileManager.default.removeItem(atPath: path)) != nil else { continue }
                removed += 1
            }
            return removed
        }
    }

    public func incomingNames() async throws -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: incomingDirectory)) ?? []).filter { !$0.hasPrefix(".") }
    }

    /// Empties the scratch work area, removes incoming files no upload row refers to (left by a crash between
    /// receiving a file and recording it) and temporary files in segment folders.
    public func sweepResidue(keepingIncoming keep: Set<String>) {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: scratch + "/work")) ?? [] {
            try? fm.removeItem(atPath: scratch + "/work/" + name)
        }
        for name in (try? fm.contentsOfDirectory(atPath: incomingDirectory)) ?? []
        where !keep.contains(UploadInboxNames.upload(ofIncoming: name)) {
            try? fm.removeItem(atPath: incomingPath(name))
        }
        for id in storedSegmentIDs() { removeTemporaryFilesSync(segmentID: id) }
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
