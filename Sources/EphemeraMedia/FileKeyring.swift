import Crypto
import Foundation

/// The keyring: one random 256-bit data key per segment, each in its own file (mode 0600) in a folder kept
/// apart from the media and never included in `ephemera backup`. Destroying a key (unlink + fsync of the
/// folder) makes every copy of the segment's blobs unreadable, including copies in media backups:
/// crypto-shredding. Keyring backups are separate and rotate (`ephemera keyring-backup --retention`).
public struct FileKeyring: Sendable {
    public let directory: String

    public init(directory: String) throws {
        self.directory = (directory as NSString).standardizingPath
        try FileManager.default.createDirectory(atPath: self.directory + "/keys", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    func path(_ segmentID: String) -> String { directory + "/keys/" + segmentID + ".key" }

    /// The segment's key, made (durably) on first use.
    public func key(for segmentID: String) throws -> SymmetricKey {
        if let existing = try existingKey(for: segmentID) { return existing }
        let key = SymmetricKey(size: .bits256)
        let temporary = directory + "/keys/.tmp-" + UUID().uuidString
        let bytes = key.withUnsafeBytes { Data($0) }
        guard FileManager.default.createFile(atPath: temporary, contents: bytes, attributes: [.posixPermissions: 0o600])
        else { throw ChunkedCipher.CipherError.io("cannot write a key in \(directory)") }
        try FileMediaStore.fsync(path: temporary)
        guard rename(temporary, path(segmentID)) == 0 else { throw FileMediaStore.posixError("rename", path(segmentID)) }
        try FileMediaStore.fsync(path: directory + "/keys")
        return key
    }

    /// The segment's key if it exists.
    public func existingKey(for segmentID: String) throws -> SymmetricKey? {
        guard let data = FileManager.default.contents(atPath: path(segmentID)) else { return nil }
        guard data.count == 32 else { throw ChunkedCipher.CipherError.io("the key of \(segmentID) is damaged") }
        return SymmetricKey(data: data)
    }

    /// Destroys the segment's key; returns whether there was one. Idempotent.
    @discardableResult
    public func destroyKey(for segmentID: String) throws -> Bool {
        let file = path(segmentID)
        guard FileManager.default.fileExists(atPath: file) else { return false }
        try FileManager.default.removeItem(atPath: file)
        try FileMediaStore.fsync(path: directory + "/keys")
        return true
    }

    /// Every segment id with a key.
    public func segmentIDs() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/keys")) ?? [])
            .filter { $0.hasSuffix(".key") && !$0.hasPrefix(".") }.map { String($0.dropLast(4)) }
    }
}
