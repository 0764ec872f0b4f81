import Crypto
import EphemeraCore
import Foundation

/// The keyring folder: one random 256-bit data key per segment (and per resumable upload), each in its own
/// file (mode 0600) in a folder kept apart from the media and never included in `ephemera backup`.
/// Destroying a key (unlink + fsync of the folder) makes every copy of the segment's blobs unreadable,
/// including copies in media backups: crypto-shredding. Keyring backups are separate and rotate
/// (`ephemera keyring-backup --retention`). A key is made only by `createKey`.
public struct FileKeyring: Keyring {
    public let directory: String

    public init(directory: String) throws {
        self.directory = (directory as NSString).standardizingPath
        try PrivateDirectory.ensure(self.directory, tighten: true)
        try PrivateDirectory.ensure(self.directory + "/keys", tighten: true)
    }

    func path(_ id: String) -> String { directory + "/keys/" + id + ".key" }

    public func createKey(for id: String) async throws -> DataKey {
        try await BlockingIO.run { try createKeySync(for: id) }
    }

    func createKeySync(for id: String) throws -> DataKey {
        if let existing = try keySync(for: id) { return existing }
        let key = SymmetricKey(size: .bits256)
        let temporary = directory + "/keys/.tmp-" + UUID().uuidString
        let bytes = key.withUnsafeBytes { Data($0) }
        guard FileManager.default.createFile(atPath: temporary, contents: bytes, attributes: [.posixPermissions: 0o600])
        else { throw ChunkedCipher.CipherError.io("cannot write a key in \(directory)") }
        do {
            try FileMediaStore.fsync(path: temporary)
            guard rename(temporary, path(id)) == 0 else { throw FileMediaStore.posixError("rename", path(id)) }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        try FileMediaStore.fsync(path: directory + "/keys")
        return DataKey(bytes: [UInt8](bytes))!
    }

    public func key(for id: String) async throws -> DataKey? {
        try await BlockingIO.run { try keySync(for: id) }
    }

    func keySync(for id: String) throws -> DataKey? {
        guard let data = FileManager.default.contents(atPath: path(id)) else { return nil }
        guard let key = DataKey(bytes: [UInt8](data)) else { throw ChunkedCipher.CipherError.io("the key of \(id) is damaged") }
        return key
    }

    @discardableResult
    public func destroyKey(for id: String) async throws -> Bool {
        try await BlockingIO.run {
            let file = path(id)
            guard FileManager.default.fileExists(atPath: file) else { return false }
            try FileManager.default.removeItem(atPath: file)
            try FileMediaStore.fsync(path: directory + "/keys")
            return true
        }
    }

    public func keyIDs() async throws -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/keys")) ?? [])
            .filter { $0.hasSuffix(".key") && !$0.hasPrefix(".") }.map { String($0.dropLast(4)) }
    }
}

extension FileKeyring {
    public func keyIDs(createdBefore instant: Instant) async throws -> [String] {
        let folder = directory + "/keys/"
        return try await BlockingIO.run {
            ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
                .filter { $0.hasSuffix(".key") && !$0.hasPrefix(".") }
                .filter { name in
                    guard let made = (try? FileManager.default.attributesOfItem(atPath: folder + name))?[.modificationDate] as? Date
                    else { return false }
                    return Instant(made) < instant
                }
                .map { String($0.dropLast(4)) }
        }
    }
}

extension DataKey {
    /// The key for swift-crypto's AES-GCM.
    public var symmetricKey: SymmetricKey { SymmetricKey(data: bytes) }
}

/// The erasure ledger of the keyring folder: `erasures.log`, one `MILLISECONDS KIND ID` line per erasure, appended
/// and fsynced before the erasure commits; kept beside the keys (and in keyring backups), never in a database
/// backup.
extension FileKeyring {
    var ledgerPath: String { directory + "/erasures.log" }

    public func recordErasure(_ erasure: Erasure) async throws {
        let line = "\(erasure.at.milliseconds) \(erasure.kind.rawValue) \(erasure.id)\n"
        let path = ledgerPath
        try await BlockingIO.run {
            // Appends and a prune's rewrite (another process: `ephemera backup` beside the server) take turns.
            let lock = try lockLedger()
            defer { close(lock) }
            let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                throw ChunkedCipher.CipherError.io("cannot open \(path): \(String(cString: strerror(errno)))")
            }
            defer { close(descriptor) }
            let bytes = Array(line.utf8)
            guard bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == bytes.count, fsync(descriptor) == 0 else {
                throw ChunkedCipher.CipherError.io("cannot append to \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    public func erasures() async throws -> [Erasure] {
        let path = ledgerPath
        return try await BlockingIO.run { Self.parseLedger(FileManager.default.contents(atPath: path)) }
    }

    /// Rewrites the ledger without the erasures made before `instant`: a new file, fsynced, renamed over the old
    /// one, under the ledger's lock.
    public func pruneErasures(before instant: Instant) async throws -> Int {
        let path = ledgerPath
        let folder = directory
        return try await BlockingIO.run {
            let lock = try lockLedger()
            defer { close(lock) }
            // Each erasure once (a retried step may have appended one twice), in the order recorded.
            var seen = Set<Erasure>()
            let all = Self.parseLedger(FileManager.default.contents(atPath: path)).filter { seen.insert($0).inserted }
            let kept = all.filter { $0.at >= instant }
            guard kept.count < all.count else { return 0 }
            let text = kept.map { "\($0.at.milliseconds) \($0.kind.rawValue) \($0.id)\n" }.joined()
            let temporary = path + ".tmp-" + UUID().uuidString
            guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8),
                                                 attributes: [.posixPermissions: 0o600]) else {
                throw ChunkedCipher.CipherError.io("cannot write \(temporary)")
            }
            do {
                try FileMediaStore.fsync(path: temporary)
                guard rename(temporary, path) == 0 else { throw FileMediaStore.posixError("rename", path) }
            } catch {
                try? FileManager.default.removeItem(atPath: temporary)
                throw error
            }
            try FileMediaStore.fsync(path: folder)
            return all.count - kept.count
        }
    }

    /// An exclusive lock on `erasures.lock`, held until the descriptor is closed.
    private func lockLedger() throws -> Int32 {
        let lockPath = directory + "/erasures.lock"
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ChunkedCipher.CipherError.io("cannot open \(lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX) == 0 else {
            close(descriptor)
            throw ChunkedCipher.CipherError.io("cannot lock \(lockPath): \(String(cString: strerror(errno)))")
        }
        return descriptor
    }

    /// A line cut short by a crash (no id) is skipped; its erasure never committed.
    static func parseLedger(_ data: Data?) -> [Erasure] {
        guard let data else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 3, let milliseconds = Int64(fields[0]),
                  let kind = Erasure.Kind(rawValue: String(fields[1])) else { return nil }
            return Erasure(kind, id: String(fields[2]), at: Instant(milliseconds: milliseconds))
        }
    }
}
