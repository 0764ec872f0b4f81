import Crypto
import EphemeraCore
import Foundation

/// The record format of every upload spool, on a disk or in an object store: bytes can be added in pieces of
/// any size, each sealed on its own.
/// ```
/// record: plaintext length (UInt32 BE, at most 64 KiB) | nonce (12 random bytes) | ciphertext | tag (16 bytes)
/// AAD of a record: the upload id | the record's plaintext offset (UInt64 BE)
/// ```
/// The AAD binds every record to its upload and its place, so records cannot be moved, swapped or replayed.
public enum SpoolRecords {
    public static let recordSize = 64 * 1024
    public static let headLength = 4 + 12
    public static let overhead = headLength + 16

    /// Upload `id`'s key, which every spool keeps in the keyring; gone means the upload was removed.
    public static func key(of id: String, in keyring: any Keyring) async throws -> SymmetricKey {
        guard let key = try await keyring.key(for: UploadSpoolNames.keyID(id))?.symmetricKey else {
            throw ChunkedCipher.CipherError.io("the key of upload \(id) is gone")
        }
        return key
    }

    static func aad(id: String, offset: Int64) -> Data {
        Data(id.utf8) + withUnsafeBytes(of: UInt64(offset).bigEndian) { Data($0) }
    }

    /// Seals `plain` (at most `recordSize` bytes) as the record at plaintext `offset`, appending it to `output`.
    public static func seal(_ plain: Data, key: SymmetricKey, id: String, offset: Int64, into output: inout Data) throws {
        let box = try AES.GCM.seal(plain, using: key, authenticating: aad(id: id, offset: offset))
        output.append(contentsOf: withUnsafeBytes(of: UInt32(plain.count).bigEndian, Array.init))
        output.append(contentsOf: box.nonce.withUnsafeBytes { Array($0) })
        output.append(box.ciphertext)
        output.append(box.tag)
    }

    /// The plaintext length a record head announces, or `damaged` when it cannot be a record.
    public static func plainLength(head: Data, index: Int) throws -> Int {
        guard head.count == headLength else { throw ChunkedCipher.CipherError.damaged(chunk: index) }
        let length = Int(head.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard length > 0, length <= recordSize else { throw ChunkedCipher.CipherError.damaged(chunk: index) }
        return length
    }

    /// Opens one record: its head and the `length + 16` bytes that follow it.
    public static func open(head: Data, sealed: Data, key: SymmetricKey, id: String, offset: Int64, index: Int) throws -> Data {
        let length = try plainLength(head: head, index: index)
        guard sealed.count == length + 16 else { throw ChunkedCipher.CipherError.damaged(chunk: index) }
        do {
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: head.suffix(12)),
                                            ciphertext: sealed.prefix(length), tag: sealed.suffix(16))
            return try AES.GCM.open(box, using: key, authenticating: aad(id: id, offset: offset))
        } catch {
            throw ChunkedCipher.CipherError.damaged(chunk: index)
        }
    }

    /// Plaintext waiting to be sealed into records, and the positions of what was sealed.
    public struct Sealer {
        public let id: String
        let key: SymmetricKey
        /// The plaintext offset of the first byte not yet sealed.
        public private(set) var offset: Int64
        public private(set) var pending = Data()

        public init(id: String, key: SymmetricKey, offset: Int64) {
            self.id = id
            self.key = key
            self.offset = offset
        }

        public mutating func append(_ bytes: UnsafeRawBufferPointer) { pending.append(contentsOf: bytes) }

        /// Seals every whole record pending (and with `all`, the short rest too) into `output`.
        public mutating func seal(into output: inout Data, all: Bool) throws {
            var start = pending.startIndex
            while pending.endIndex - start >= SpoolRecords.recordSize || (all && start < pending.endIndex) {
                let end = min(start + SpoolRecords.recordSize, pending.endIndex)
                try SpoolRecords.seal(Data(pending[start..<end]), key: key, id: id, offset: offset, into: &output)
                offset += Int64(end - start)
                start = end
            }
            pending.removeSubrange(pending.startIndex..<start)
        }

        /// Forgets what is pending and rewinds to `offset`.
        public mutating func reset(to offset: Int64) {
            pending.removeAll()
            self.offset = offset
        }
    }
}
