import Crypto
import EphemeraCore
import EphemeraMedia
import Foundation
import NIOCore

/// Upload spools in the object store, so a tus upload begun through one node continues through any other:
/// every write is an object of its own, `spools/{id}/{start}-{writer}`, holding `SpoolRecords` (`start` is
/// the spool bytes before it, zero-padded; `writer` is random per request). A request stores a part each
/// ~8 MiB and at its end (or when its connection drops), and the database records the committed parts by name
/// with the offset, so parts of a refused, unverified or interrupted request are never read, wherever they
/// came from; they go with the spool.
public struct S3UploadSpool: UploadSpool {
    public let client: S3Client
    public let keyring: any Keyring
    /// Sealed bytes collected before a part is stored.
    let partSize: Int

    public init(client: S3Client, keyring: any Keyring, partSize: Int = 8 << 20) {
        self.client = client
        self.keyring = keyring
        self.partSize = partSize
    }

    static let root = "spools/"
    static func prefix(_ id: String) -> String { root + id + "/" }

    func key(_ id: String) async throws -> SymmetricKey { try await SpoolRecords.key(of: id, in: keyring) }

    /// The key is all a new spool needs: its first part is its first write.
    public func create(_ id: String) async throws {
        _ = try await keyring.createKey(for: UploadSpoolNames.keyID(id))
    }

    public func writer(_ id: String, committed: SpoolPosition) async throws -> any UploadSpoolWriter {
        Writer(spool: self, sealer: SpoolRecords.Sealer(id: id, key: try await key(id), offset: committed.offset),
               committed: committed)
    }

    public func assemble(_ id: String, committed: SpoolPosition, to destination: String) async throws {
        let key = ChunkedCipher.Key(try await key(id))
        let output = try await BlockingIO.run {
            guard FileManager.default.createFile(atPath: destination, contents: nil, attributes: [.posixPermissions: 0o600]),
                  let handle = FileHandle(forWritingAtPath: destination) else {
                throw ChunkedCipher.CipherError.io("cannot create \(destination)")
            }
            return SendableFile(handle: handle)
        }
        defer { try? output.handle.close() }
        var (stored, plainOffset, index): (Int64, Int64, Int) = (0, 0, 0)
        for part in committed.parts {
            guard part.hasPrefix(Self.startName(stored)) else { throw ChunkedCipher.CipherError.damaged(chunk: index) }
            var bytes = ByteBuffer()
            do {
                guard try await client.getObject(Self.prefix(id) + part, { var piece = $0; bytes.writeBuffer(&piece) }) else {
                    throw ChunkedCipher.CipherError.io("part \(part) of upload \(id) is missing from the object store")
                }
            } catch {
                throw S3MediaStore.mapped(error)
            }
            let data = Data(bytes.readableBytesView)
            let (start, firstIndex) = (plainOffset, index)
            // Opening and writing a part happen on the thread pool.
            let (plainCount, records) = try await BlockingIO.run {
                var (position, offset, index) = (data.startIndex, start, firstIndex)
                while position < data.endIndex {
                    let head = data[position..<min(position + SpoolRecords.headLength, data.endIndex)]
                    let length = try SpoolRecords.plainLength(head: Data(head), index: index)
                    let bodyStart = position + SpoolRecords.headLength
                    let sealed = data[bodyStart..<min(bodyStart + length + 16, data.endIndex)]
                    let plain = try SpoolRecords.open(head: Data(head), sealed: Data(sealed), key: key.symmetricKey,
                                                      id: id, offset: offset, index: index)
                    try output.handle.write(contentsOf: plain)
                    position = bodyStart + length + 16
                    offset += Int64(length)
                    index += 1
                }
                return (offset - start, index - firstIndex)
            }
            stored += Int64(data.count)
            plainOffset += plainCount
            index += records
        }
        guard stored == committed.storedBytes, plainOffset == committed.offset else {
            throw ChunkedCipher.CipherError.damaged(chunk: index)
        }
        try await BlockingIO.run { try output.handle.synchronize() }
    }

    public func remove(_ id: String) async throws {
        do {
            try await client.deleteObjects(try await client.list(prefix: Self.prefix(id)).objects.map(\.key))
        } catch {
            throw S3MediaStore.mapped(error)
        }
        try await keyring.destroyKey(for: UploadSpoolNames.keyID(id))
    }

    public func spoolIDs() async throws -> Set<String> {
        do {
            // From the objects themselves: some stores list a folder emptied of its objects as a common prefix.
            return Set(try await client.list(prefix: Self.root).objects.compactMap {
                $0.key.dropFirst(Self.root.count).split(separator: "/").first.map(String.init)
            })
        } catch {
            throw S3MediaStore.mapped(error)
        }
    }

    /// The first half of a part's name: the spool bytes before it, zero-padded so names sort in order.
    static func startName(_ stored: Int64) -> String {
        let digits = String(stored)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits + "-"
    }

    /// Collects sealed records and stores them as parts; `sync()` stores the rest and reports the parts.
    final class Writer: UploadSpoolWriter, @unchecked Sendable {
        let spool: S3UploadSpool
        var sealer: SpoolRecords.Sealer
        private(set) var committed: SpoolPosition
        let token = Hex.encode((0..<8).map { _ in UInt8.random(in: .min ... .max) })
        /// Sealed records not yet stored.
        var buffer = Data()
        /// Parts stored since the last sync, and their bytes.
        var stored: [String] = []
        var storedBytes: Int64 = 0

        init(spool: S3UploadSpool, sealer: SpoolRecords.Sealer, committed: SpoolPosition) {
            self.spool = spool
            self.sealer = sealer
            self.committed = committed
        }

        var received: Int64 { sealer.offset + Int64(sealer.pending.count) - committed.offset }

        func append(_ bytes: UnsafeRawBufferPointer) { sealer.append(bytes) }

        func flush() async throws {
            try sealer.seal(into: &buffer, all: false)
            if buffer.count >= spool.partSize { try await storePart() }
        }

        func sync() async throws {
            try sealer.seal(into: &buffer, all: true)
            if !buffer.isEmpty { try await storePart() }
            committed = SpoolPosition(offset: sealer.offset, storedBytes: committed.storedBytes + storedBytes,
                                      parts: committed.parts + stored)
            stored = []
            storedBytes = 0
        }

        func discard() async {
            let names = stored.map { S3UploadSpool.prefix(sealer.id) + $0 }
            sealer.reset(to: committed.offset)
            buffer.removeAll()
            stored = []
            storedBytes = 0
            // Best effort: a part left behind is never read and goes with the spool.
            try? await spool.client.deleteObjects(names)
        }

        private func storePart() async throws {
            let name = S3UploadSpool.startName(committed.storedBytes + storedBytes) + token
            do {
                try await spool.client.putObject(S3UploadSpool.prefix(sealer.id) + name, ByteBuffer(bytes: buffer))
            } catch {
                throw S3MediaStore.mapped(error)
            }
            stored.append(name)
            storedBytes += Int64(buffer.count)
            buffer.removeAll(keepingCapacity: true)
        }
    }
}
