import Crypto
import EphemeraCore
import Foundation

/// Upload spools on the node's own disk: `DATA/uploads/{id}.spool`, one append-only file of `SpoolRecords`
/// per upload, its key in the keyring. The committed part is the first `storedBytes` of the file; anything
/// after it (a record torn by a crash, or the bytes of a refused request) is cut off when the spool is next
/// written and never read.
public struct FileUploadSpool: UploadSpool {
    public let directory: String
    let keyring: any Keyring

    public init(dataDirectory: String, keyring: any Keyring) throws {
        directory = (dataDirectory as NSString).standardizingPath + "/uploads"
        self.keyring = keyring
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    public func path(_ id: String) -> String { directory + "/" + id + ".spool" }

    public func create(_ id: String) async throws {
        _ = try await keyring.createKey(for: UploadSpoolNames.keyID(id))
        let (file, folder) = (path(id), directory)
        try await BlockingIO.run {
            guard FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o600])
            else { throw ChunkedCipher.CipherError.io("cannot create \(file)") }
            try FileMediaStore.fsync(path: file)
            try FileMediaStore.fsync(path: folder)
        }
    }

    func key(_ id: String) async throws -> SymmetricKey { try await SpoolRecords.key(of: id, in: keyring) }

    public func writer(_ id: String, committed: SpoolPosition) async throws -> any UploadSpoolWriter {
        let key = try await key(id)
        let fd = Foundation.open(path(id), O_WRONLY)
        guard fd >= 0 else { throw FileMediaStore.posixError("open", path(id)) }
        guard ftruncate(fd, off_t(committed.storedBytes)) == 0, lseek(fd, off_t(committed.storedBytes), SEEK_SET) >= 0 else {
            close(fd)
            throw FileMediaStore.posixError("truncate", path(id))
        }
        return Writer(fd: fd, sealer: SpoolRecords.Sealer(id: id, key: key, offset: committed.offset),
                      committed: committed)
    }

    public func assemble(_ id: String, committed: SpoolPosition, to destination: String) async throws {
        let (source, sendableKey) = (path(id), ChunkedCipher.Key(try await key(id)))
        // The whole spool is read, opened and written out on the thread pool, record by record.
        try await BlockingIO.run {
            guard let input = FileHandle(forReadingAtPath: source) else { throw ChunkedCipher.CipherError.io("cannot read \(source)") }
            defer { try? input.close() }
            guard FileManager.default.createFile(atPath: destination, contents: nil, attributes: [.posixPermissions: 0o600]),
                  let output = FileHandle(forWritingAtPath: destination) else {
                throw ChunkedCipher.CipherError.io("cannot create \(destination)")
            }
            defer { try? output.close() }
            var (position, plainOffset, index): (Int64, Int64, Int) = (0, 0, 0)
            while position < committed.storedBytes {
                let head = try input.read(upToCount: SpoolRecords.headLength) ?? Data()
                let length = try SpoolRecords.plainLength(head: head, index: index)
                let sealed = try input.read(upToCount: length + 16) ?? Data()
                let plain = try SpoolRecords.open(head: head, sealed: sealed, key: sendableKey.symmetricKey, id: id,
                                                  offset: plainOffset, index: index)
                try output.write(contentsOf: plain)
                position += Int64(length + SpoolRecords.overhead)
                plainOffset += Int64(length)
                index += 1
            }
            guard plainOffset == committed.offset else { throw ChunkedCipher.CipherError.damaged(chunk: index) }
            try FileMediaStore.fsync(path: destination)
        }
    }

    public func remove(_ id: String) async throws {
        if FileManager.default.fileExists(atPath: path(id)) { try FileManager.default.removeItem(atPath: path(id)) }
        try await keyring.destroyKey(for: UploadSpoolNames.keyID(id))
    }

    public func spoolIDs() async throws -> Set<String> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".spool") }.map { String($0.dropLast(".spool".count)) })
    }

    /// Appends records to the spool file; `sync()` fsyncs them.
    final class Writer: UploadSpoolWriter, @unchecked Sendable {
        let fd: Int32
        var sealer: SpoolRecords.Sealer
        private(set) var committed: SpoolPosition
        /// Spool bytes written since the last sync.
        var written: Int64 = 0

        init(fd: Int32, sealer: SpoolRecords.Sealer, committed: SpoolPosition) {
            self.fd = fd
            self.sealer = sealer
            self.committed = committed
        }

        deinit { close(fd) }

        var received: Int64 { sealer.offset + Int64(sealer.pending.count) - committed.offset }

        func append(_ bytes: UnsafeRawBufferPointer) { sealer.append(bytes) }

        static let flushSize = 16 * SpoolRecords.recordSize

        func flush() async throws {
            guard sealer.pending.count >= Self.flushSize else { return }
            try await BlockingIO.run { try self.write(all: false) }
        }

        func sync() async throws {
            try await BlockingIO.run {
                try self.write(all: true)
                guard fsync(self.fd) == 0 else { throw FileMediaStore.posixError("fsync", "upload \(self.sealer.id)") }
                self.committed = SpoolPosition(offset: self.sealer.offset,
                                               storedBytes: self.committed.storedBytes + self.written)
                self.written = 0
            }
        }

        func discard() async {
            sealer.reset(to: committed.offset)
            written = 0
            let (fd, stored) = (self.fd, committed.storedBytes)
            _ = try? await BlockingIO.run {
                _ = ftruncate(fd, off_t(stored))
                _ = lseek(fd, off_t(stored), SEEK_SET)
            }
        }

        private func write(all: Bool) throws {
            var records = Data()
            try sealer.seal(into: &records, all: all)
            try records.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw FileMediaStore.posixError("write", "upload \(sealer.id)")
                    }
                    done += n
                }
            }
            written += Int64(records.count)
        }
    }
}
