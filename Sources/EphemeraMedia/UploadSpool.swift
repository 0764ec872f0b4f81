import Crypto
import EphemeraCore
import Foundation

/// Where resumable (tus) uploads collect their bytes across requests and restarts, encrypted at rest like
/// every other blob: `DATA/uploads/{id}.spool`, with the upload's own key in the keyring (`upload-{id}`).
///
/// A spool is append-only and grows by records, so bytes can be added in pieces of any size:
/// ```
/// record: plaintext length (UInt32 BE, at most 64 KiB) | nonce (12 random bytes) | ciphertext | tag (16 bytes)
/// AAD of a record: the upload id | the record's plaintext offset (UInt64 BE)
/// ```
/// The database holds how many plaintext bytes (`offset`) and how many spool bytes (`storedBytes`) are
/// committed; anything after `storedBytes` (a record torn by a crash, or bytes of a request that was refused)
/// is cut off when the spool is next written. The AAD binds every record to its upload and its place.
public struct UploadSpool: Sendable {
    public let directory: String
    let keyring: any Keyring

    public static let recordSize = 64 * 1024
    static let overhead = 4 + 12 + 16

    public init(dataDirectory: String, keyring: any Keyring) throws {
        directory = (dataDirectory as NSString).standardizingPath + "/uploads"
        self.keyring = keyring
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    public func path(_ id: String) -> String { directory + "/" + id + ".spool" }
    /// The keyring id of resumable upload `id`'s key.
    public static func keyID(_ id: String) -> String { "upload-" + id }
    /// Whether a keyring entry belongs to a resumable upload, and to which.
    public static func uploadID(ofKey keyID: String) -> String? {
        keyID.hasPrefix("upload-") ? String(keyID.dropFirst("upload-".count)) : nil
    }

    /// Creates the empty spool and its key, durably.
    public func create(_ id: String) async throws {
        _ = try await keyring.createKey(for: Self.keyID(id))
        let (file, folder) = (path(id), directory)
        try await BlockingIO.run {
            guard FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o600])
            else { throw ChunkedCipher.CipherError.io("cannot create \(file)") }
            try FileMediaStore.fsync(path: file)
            try FileMediaStore.fsync(path: folder)
        }
    }

    /// A writer that appends after the committed part (`storedBytes`, holding `offset` plaintext bytes).
    public func writer(_ id: String, storedBytes: Int64, offset: Int64) async throws -> Writer {
        guard let key = try await keyring.key(for: Self.keyID(id))?.symmetricKey else {
            throw ChunkedCipher.CipherError.io("the key of upload \(id) is gone")
        }
        let fd = Foundation.open(path(id), O_WRONLY)
        guard fd >= 0 else { throw FileMediaStore.posixError("open", path(id)) }
        guard ftruncate(fd, off_t(storedBytes)) == 0, lseek(fd, off_t(storedBytes), SEEK_SET) >= 0 else {
            close(fd)
            throw FileMediaStore.posixError("truncate", path(id))
        }
        return Writer(id: id, fd: fd, key: ChunkedCipher.Key(key), storedBytes: storedBytes, offset: offset)
    }

    /// Decrypts the whole spool into `destination` (plaintext, in the scratch area), record by record.
    public func decrypt(_ id: String, storedBytes: Int64, to destination: String) async throws {
        guard let key = try await keyring.key(for: Self.keyID(id))?.symmetricKey else {
            throw ChunkedCipher.CipherError.io("the key of upload \(id) is gone")
        }
        let (source, sendableKey) = (path(id), ChunkedCipher.Key(key))
        // The whole spool is read, opened and written out on the thread pool, record by record.
        try await BlockingIO.run {
            let key = sendableKey.symmetricKey
            guard let input = FileHandle(forReadingAtPath: source) else { throw ChunkedCipher.CipherError.io("cannot read \(source)") }
            defer { try? input.close() }
            guard FileManager.default.createFile(atPath: destination, contents: nil, attributes: [.posixPermissions: 0o600]),
                  let output = FileHandle(forWritingAtPath: destination) else {
                throw ChunkedCipher.CipherError.io("cannot create \(destination)")
            }
            defer { try? output.close() }
            var position: Int64 = 0
            var plainOffset: Int64 = 0
            var index = 0
            while position < storedBytes {
                let head = try input.read(upToCount: 16) ?? Data()
                guard head.count == 16 else { throw ChunkedCipher.CipherError.damaged(chunk: index) }
                let length = Int(head.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
                guard length > 0, length <= Self.recordSize else { throw ChunkedCipher.CipherError.damaged(chunk: index) }
                let sealed = try input.read(upToCount: length + 16) ?? Data()
                guard sealed.count == length + 16 else { throw ChunkedCipher.CipherError.damaged(chunk: index) }
                let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: head.suffix(12)),
                                                ciphertext: sealed.prefix(length), tag: sealed.suffix(16))
                let plain: Data
                do {
                    plain = try AES.GCM.open(box, using: key, authenticating: Self.aad(id: id, offset: plainOffset))
                } catch { throw ChunkedCipher.CipherError.damaged(chunk: index) }
                try output.write(contentsOf: plain)
                position += Int64(length + Self.overhead)
                plainOffset += Int64(length)
                index += 1
            }
            try FileMediaStore.fsync(path: destination)
        }
    }

    /// Removes the spool and destroys its key. Idempotent.
    public func remove(_ id: String) async throws {
        if FileManager.default.fileExists(atPath: path(id)) { try FileManager.default.removeItem(atPath: path(id)) }
        try await keyring.destroyKey(for: Self.keyID(id))
    }

    /// The ids of every spool on disk (the audit compares them with the rows).
    public func spoolIDs() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".spool") }.map { String($0.dropLast(".spool".count)) }
    }

    static func aad(id: String, offset: Int64) -> Data {
        Data(id.utf8) + withUnsafeBytes(of: UInt64(offset).bigEndian) { Data($0) }
    }

    /// Appends plaintext as encrypted records. One request writes a spool at a time (the upload's lock), so the
    /// writer is handed between the request's task and the thread pool that seals, writes and fsyncs for it,
    /// never used by two at once.
    public final class Writer: @unchecked Sendable {
        let id: String
        let fd: Int32
        let key: ChunkedCipher.Key
        /// Committed (durable) positions; what the database should record after `sync()`.
        public private(set) var storedBytes: Int64
        public private(set) var offset: Int64
        let startStored: Int64
        let startOffset: Int64
        var pending = Data()
        var written: Int64 = 0
        var writtenPlain: Int64 = 0

        init(id: String, fd: Int32, key: ChunkedCipher.Key, storedBytes: Int64, offset: Int64) {
            self.id = id
            self.fd = fd
            self.key = key
            self.storedBytes = storedBytes
            self.offset = offset
            startStored = storedBytes
            startOffset = offset
        }

        deinit { close(fd) }

        /// Plaintext bytes received by this writer so far, written or pending.
        public var received: Int64 { offset - startOffset + writtenPlain + Int64(pending.count) }

        /// Takes plaintext; it is sealed and written in whole records by `flush()` and `sync()`.
        public func append(_ bytes: UnsafeRawBufferPointer) {
            pending.append(contentsOf: bytes)
        }

        /// Seals and writes the whole records pending once about a megabyte has collected, on the thread pool.
        public func flush() async throws {
            guard pending.count >= Self.flushSize else { return }
            try await BlockingIO.run { try self.sealWholeRecords() }
        }

        static let flushSize = 16 * UploadSpool.recordSize

        func sealWholeRecords() throws {
            var start = pending.startIndex
            while pending.endIndex - start >= UploadSpool.recordSize {
                try seal(pending[start..<(start + UploadSpool.recordSize)])
                start += UploadSpool.recordSize
            }
            pending.removeSubrange(pending.startIndex..<start)
        }

        /// Writes what is pending (a short last record) and makes everything durable, on the thread pool:
        /// afterwards `storedBytes` and `offset` may be committed to the database.
        public func sync() async throws {
            try await BlockingIO.run {
                try self.sealWholeRecords()
                if !self.pending.isEmpty {
                    try self.seal(self.pending)
                    self.pending.removeAll()
                }
                guard fsync(self.fd) == 0 else { throw FileMediaStore.posixError("fsync", "upload \(self.id)") }
                self.storedBytes += self.written
                self.offset += self.writtenPlain
                self.written = 0
                self.writtenPlain = 0
            }
        }

        /// Drops everything written since the last `sync()` (a refused or unverifiable request).
        public func discard() async {
            pending.removeAll()
            written = 0
            writtenPlain = 0
            let (fd, stored) = (self.fd, storedBytes)
            _ = try? await BlockingIO.run {
                _ = ftruncate(fd, off_t(stored))
                _ = lseek(fd, off_t(stored), SEEK_SET)
            }
        }

        private func seal(_ plain: Data) throws {
            let box = try AES.GCM.seal(plain, using: key.symmetricKey,
                                       authenticating: UploadSpool.aad(id: id, offset: offset + writtenPlain))
            var record = Data(capacity: plain.count + UploadSpool.overhead)
            record.append(contentsOf: withUnsafeBytes(of: UInt32(plain.count).bigEndian, Array.init))
            record.append(contentsOf: box.nonce.withUnsafeBytes { Array($0) })
            record.append(box.ciphertext)
            record.append(box.tag)
            try record.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw FileMediaStore.posixError("write", "upload \(id)")
                    }
                    done += n
                }
            }
            written += Int64(record.count)
            writtenPlain += Int64(plain.count)
        }
    }
}
