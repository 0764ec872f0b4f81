import Crypto
import Foundation

/// The on-disk format of every media blob: AES-GCM in independent chunks, so a `Range` read decrypts only
/// the chunks it serves.
///
/// ```
/// header (24 bytes, also the AAD of every chunk):
///   "EPH1" | chunk size (UInt32 BE) | plaintext length (UInt64 BE) | blob salt (8 random bytes)
/// then for each chunk i: ciphertext (chunk size, the last one shorter) | tag (16 bytes)
/// nonce of chunk i = blob salt | UInt32 BE (i | 0x8000_0000 when it is the last chunk)
/// ```
/// The salt makes nonces unique across the blobs of one segment key (video, poster, downloads); the
/// last-chunk flag and the authenticated plaintext length stop truncation and chunk reordering.
public enum ChunkedCipher {
    /// A segment's data key, safe to hand to the task that streams a response: the key bytes never change.
    public struct Key: @unchecked Sendable {
        public let symmetricKey: SymmetricKey
        public init(_ key: SymmetricKey) { symmetricKey = key }
    }

    public static let magic = Array("EPH1".utf8)
    public static let headerLength = 24
    public static let tagLength = 16
    public static let defaultChunkSize = 64 * 1024

    public struct Header: Sendable, Hashable {
        public var chunkSize: Int
        public var plaintextLength: Int64
        public var salt: [UInt8]

        public var bytes: [UInt8] {
            ChunkedCipher.magic + withUnsafeBytes(of: UInt32(chunkSize).bigEndian, Array.init)
                + withUnsafeBytes(of: UInt64(plaintextLength).bigEndian, Array.init) + salt
        }

        public var chunkCount: Int {
            plaintextLength == 0 ? 1 : Int((plaintextLength + Int64(chunkSize) - 1) / Int64(chunkSize))
        }

        /// The length of the whole blob: the header, then every chunk with its tag.
        public var ciphertextLength: Int64 {
            Int64(ChunkedCipher.headerLength) + plaintextLength + Int64(chunkCount * ChunkedCipher.tagLength)
        }

        init(chunkSize: Int, plaintextLength: Int64, salt: [UInt8]) {
            self.chunkSize = chunkSize
            self.plaintextLength = plaintextLength
            self.salt = salt
        }

        public init(parsing bytes: [UInt8]) throws {
            guard bytes.count >= ChunkedCipher.headerLength, Array(bytes[0..<4]) == ChunkedCipher.magic else {
                throw CipherError.notEncrypted
            }
            chunkSize = Int(bytes[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            plaintextLength = Int64(bitPattern: bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            salt = Array(bytes[16..<24])
            guard chunkSize > 0, chunkSize <= 16 << 20, plaintextLength >= 0 else { throw CipherError.notEncrypted }
        }
    }

    public enum CipherError: Error, CustomStringConvertible {
        case notEncrypted, damaged(chunk: Int), io(String)
        public var description: String {
            switch self {
            case .notEncrypted: "not an Ephemera encrypted blob"
            case .damaged(let chunk): "chunk \(chunk) failed authentication"
            case .io(let detail): detail
            }
        }
    }

    static func nonce(salt: [UInt8], index: Int, last: Bool) throws -> AES.GCM.Nonce {
        let counter = UInt32(index) | (last ? 0x8000_0000 : 0)
        return try AES.GCM.Nonce(data: salt + withUnsafeBytes(of: counter.bigEndian, Array.init))
    }

    /// Seals a blob chunk by chunk, for writers that send it on as it is made (the object store's parts).
    public struct Sealer: @unchecked Sendable {
        public let header: Header
        let key: SymmetricKey

        public init(key: SymmetricKey, plaintextLength: Int64, chunkSize: Int = defaultChunkSize) {
            var generator = SystemRandomNumberGenerator()
            self.header = Header(chunkSize: chunkSize, plaintextLength: plaintextLength,
                                 salt: (0..<8).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
            self.key = key
        }

        /// The header, which comes first in the blob.
        public var headerBytes: [UInt8] { header.bytes }

        /// Chunk `index` (a whole chunk of plaintext, the last one shorter) as ciphertext and tag.
        public func seal(_ plain: Data, index: Int) throws -> Data {
            let box = try AES.GCM.seal(plain, using: key,
                                       nonce: nonce(salt: header.salt, index: index, last: index == header.chunkCount - 1),
                                       authenticating: header.bytes)
            return box.ciphertext + box.tag
        }

        /// The length of the whole blob.
        public var sealedLength: Int64 {
            Int64(headerLength) + header.plaintextLength + Int64(header.chunkCount * tagLength)
        }
    }

    /// Encrypts the file at `source` into `destination` (created, never overwritten in place), chunk by chunk.
    public static func encryptFile(source: String, destination: String, key: SymmetricKey,
                                   chunkSize: Int = defaultChunkSize) throws {
        guard let input = FileHandle(forReadingAtPath: source) else { throw CipherError.io("cannot read \(source)") }
        defer { try? input.close() }
        let length = Int64(try input.seekToEnd())
        try input.seek(toOffset: 0)
        let sealer = Sealer(key: key, plaintextLength: length, chunkSize: chunkSize)
        guard FileManager.default.createFile(atPath: destination, contents: nil, attributes: [.posixPermissions: 0o600]),
              let output = FileHandle(forWritingAtPath: destination) else {
            throw CipherError.io("cannot create \(destination)")
        }
        defer { try? output.close() }
        try output.write(contentsOf: sealer.headerBytes)
        for index in 0..<sealer.header.chunkCount {
            try output.write(contentsOf: try sealer.seal(try input.read(upToCount: chunkSize) ?? Data(), index: index))
        }
    }

    /// Where chunk `index` starts in the blob, and how long it is sealed.
    public static func sealedSpan(of index: Int, header: Header) -> (offset: Int64, length: Int) {
        let chunk = Int64(header.chunkSize)
        let plain = Int(min(chunk, header.plaintextLength - Int64(index) * chunk))
        return (Int64(headerLength) + Int64(index) * (chunk + Int64(tagLength)), plain + tagLength)
    }

    /// Authenticates and decrypts one sealed chunk, cut to the plaintext bytes `range` asks for.
    public static func open(sealed: Data, index: Int, header: Header, range: ClosedRange<Int64>, key: SymmetricKey) throws -> Data {
        let plainLength = sealed.count - tagLength
        guard plainLength >= 0, sealed.count == sealedSpan(of: index, header: header).length else {
            throw CipherError.damaged(chunk: index)
        }
        let box = try AES.GCM.SealedBox(
            nonce: nonce(salt: header.salt, index: index, last: index == header.chunkCount - 1),
            ciphertext: sealed.prefix(plainLength), tag: sealed.suffix(tagLength))
        let plain: Data
        do { plain = try AES.GCM.open(box, using: key, authenticating: header.bytes) } catch {
            throw CipherError.damaged(chunk: index)
        }
        let chunkStart = Int64(index) * Int64(header.chunkSize)
        let from = Int(max(range.lowerBound - chunkStart, 0))
        let to = Int(min(range.upperBound - chunkStart, Int64(plain.count) - 1))
        if from == 0, to == plain.count - 1 { return plain }
        return plain.subdata(in: from..<(to + 1))
    }

    /// Decrypts a whole blob held in memory (a client that fetched the ciphertext: the CLI, tests), authenticating
    /// every chunk and the blob's length: a truncated, extended or reordered blob is refused.
    public static func decrypt(blob: Data, key: SymmetricKey) throws -> Data {
        let header = try Header(parsing: [UInt8](blob.prefix(headerLength)))
        let last = sealedSpan(of: header.chunkCount - 1, header: header)
        guard Int64(blob.count) == last.offset + Int64(last.length) else { throw CipherError.damaged(chunk: header.chunkCount - 1) }
        var plain = Data(capacity: Int(header.plaintextLength))
        let whole: ClosedRange<Int64> = 0...max(header.plaintextLength - 1, 0)
        for index in 0..<header.chunkCount {
            let span = sealedSpan(of: index, header: header)
            let start = blob.startIndex + Int(span.offset)
            plain.append(try open(sealed: blob.subdata(in: start..<(start + span.length)), index: index, header: header,
                                  range: whole, key: key))
        }
        return plain
    }

    /// Reads the header of an encrypted blob.
    public static func header(of handle: FileHandle) throws -> Header {
        try handle.seek(toOffset: 0)
        return try Header(parsing: [UInt8](try handle.read(upToCount: headerLength) ?? Data()))
    }

    /// Decrypts the chunks covering plaintext bytes `range` and hands each piece (already cut to the range)
    /// to `body`, in order. Only those chunks are read and decrypted, a batch of up to `batchChunks` at a time
    /// on the thread pool (the file reads and AES never run on the threads that serve requests).
    public static func decrypt(handle: FileHandle, header: Header, range: ClosedRange<Int64>, key: SymmetricKey,
                               _ body: (Data) async throws -> Void) async throws {
        guard header.plaintextLength > 0 else { return }
        let chunk = Int64(header.chunkSize)
        let first = Int(range.lowerBound / chunk)
        let last = Int(range.upperBound / chunk)
        let sendableKey = Key(key)
        let file = SendableHandle(handle: handle)
        for batchStart in stride(from: first, through: last, by: batchChunks) {
            let batch = batchStart...min(batchStart + batchChunks - 1, last)
            let pieces = try await BlockingIO.read {
                try batch.map { index in
                    try decryptChunk(index, handle: file.handle, header: header, range: range, key: sendableKey.symmetricKey)
                }
            }
            for piece in pieces { try await body(piece) }
        }
    }

    /// Chunks decrypted per trip to the thread pool: about a megabyte, so a whole-file read costs one hop per
    /// megabyte and a small Range read still only the chunks it covers.
    static let batchChunks = 16

    /// Reads, authenticates and decrypts chunk `index`, cut to `range`.
    static func decryptChunk(_ index: Int, handle: FileHandle, header: Header, range: ClosedRange<Int64>,
                             key: SymmetricKey) throws -> Data {
        let span = sealedSpan(of: index, header: header)
        try handle.seek(toOffset: UInt64(span.offset))
        let sealed = try handle.read(upToCount: span.length) ?? Data()
        guard sealed.count == span.length else { throw CipherError.damaged(chunk: index) }
        return try open(sealed: sealed, index: index, header: header, range: range, key: key)
    }

    /// A blob's handle, read by one batch at a time on the thread pool (never two at once).
    struct SendableHandle: @unchecked Sendable {
        let handle: FileHandle
    }

    /// Decrypts a whole blob, chunk by chunk, handing each chunk to `body`.
    public static func decryptAll(handle: FileHandle, header: Header, key: SymmetricKey,
                                  _ body: (Data) async throws -> Void) async throws {
        guard header.plaintextLength > 0 else { return }
        try await decrypt(handle: handle, header: header, range: 0...(header.plaintextLength - 1), key: key, body)
    }
}
