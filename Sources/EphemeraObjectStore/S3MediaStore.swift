import Crypto
import EphemeraCore
import EphemeraMedia
import Foundation
import Glibc
import NIOCore

/// Media blobs in an S3-compatible bucket, in the same encrypted format as on disk (`ChunkedCipher`), under
/// `media/{segmentID}/{rendition}`. A blob larger than one part is written as a multipart upload of encrypted
/// parts of about 8 MiB, each signed with its SHA-256, so no more than one part is ever in memory; an upload that
/// fails is aborted, and `removeAbandonedWrites` aborts those a crashed node left. Reads fetch only the
/// ciphertext a `Range` covers. Plaintext exists only in this node's scratch folder.
public struct S3MediaStore: MediaStore {
    public let client: S3Client
    public let keyring: any Keyring
    public let scratch: String
    /// Chunks per part: 128 × (64 KiB + tag) ≈ 8 MiB, above S3's 5 MiB minimum for all but the last part.
    public var chunksPerPart: Int
    /// Parts of one multipart upload sent at once.
    static let partsInFlight = 3

    public init(client: S3Client, keyring: any Keyring, scratchDirectory: String, chunksPerPart: Int = 128) throws {
        self.client = client
        self.keyring = keyring
        self.scratch = (scratchDirectory as NSString).standardizingPath
        self.chunksPerPart = chunksPerPart
        try PrivateDirectory.ensure(scratch)
        try PrivateDirectory.ensure(scratch + "/work")
    }

    /// Checks at start that the bucket can be used, creating it when it does not exist; a clear error otherwise
    /// (wrong credentials, an unreachable endpoint, no permission to create it).
    public func prepareBucket() async throws {
        let bucket = client.configuration.bucket
        do {
            if try await client.bucketExists() { return }
            try await client.createBucket()
        } catch let failure as S3Failure {
            throw EphemeraError(.unavailable, "s3_bucket_unusable",
                                "Bucket \(bucket) at \(client.configuration.endpoint.absoluteString) cannot be used: \(failure.description). "
                                    + "Check --s3-endpoint, --s3-bucket, --s3-region and the EPHEMERA_S3_* credentials.")
        }
    }

    static func prefix(_ segmentID: String) -> String { "media/\(segmentID)/" }
    static func key(_ segmentID: String, _ rendition: Rendition) -> String { prefix(segmentID) + rendition.rawValue }

    public func container(of segmentID: String) -> String {
        "objects under \(Self.prefix(segmentID)) in bucket \(client.configuration.bucket)"
    }

    public func scratchPath(_ hint: String) -> String { scratch + "/work/" + UUID().uuidString + "-" + hint }

    public func store(segmentID: String, files: [Rendition: String]) async throws {
        guard let dataKey = try await keyring.key(for: segmentID) else { throw MediaStoreRefusal.noKey(segmentID: segmentID) }
        do {
            // The renditions side by side (the poster's PUT beside the video's parts).
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (rendition, plaintext) in files {
                    group.addTask { try await self.upload(plaintext, to: Self.key(segmentID, rendition), key: dataKey.symmetricKey) }
                }
                try await group.waitForAll()
            }
            // A purge that began while we wrote has destroyed the key: take back what we wrote.
            guard try await keyring.key(for: segmentID) != nil else { throw MediaStoreRefusal.noKey(segmentID: segmentID) }
        } catch {
            // Nothing is in flight any more (the group waited for every upload); deleting is idempotent.
            for rendition in files.keys { try? await client.deleteObject(Self.key(segmentID, rendition)) }
            throw Self.mapped(error)
        }
        for plaintext in files.values { try? FileManager.default.removeItem(atPath: plaintext) }
    }

    /// Encrypts the file into the object `objectKey`: one PUT when it fits in a part, else a multipart upload
    /// (aborted if any part fails).
    func upload(_ path: String, to objectKey: String, key: SymmetricKey) async throws {
        let sendableKey = ChunkedCipher.Key(key)
        let chunksPerPart = chunksPerPart
        let reader = try await BlockingIO.run {
            try PartReader(path: path, key: sendableKey.symmetricKey, chunksPerPart: chunksPerPart)
        }
        defer { reader.close() }
        if reader.partCount == 1 {
            let body = try await BlockingIO.run { try reader.part(0) }
            try await client.putObject(objectKey, body)
            return
        }
        let uploadID = try await client.createMultipartUpload(objectKey)
        do {
            // Up to `partsInFlight` parts at once, each read, sealed, signed and sent by its own task: one part's
            // encryption and hashing overlap another's transfer and the store's write. Memory: that many parts.
            var etags = [String](repeating: "", count: reader.partCount)
            let client = client
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                var next = 0
                func start() {
                    let index = next
                    next += 1
                    group.addTask {
                        let body = try await BlockingIO.run { try reader.part(index) }
                        return (index, try await client.uploadPart(objectKey, uploadID: uploadID, number: index + 1, body))
                    }
                }
                while next < min(Self.partsInFlight, reader.partCount) { start() }
                while let (index, etag) = try await group.next() {
                    etags[index] = etag
                    if next < reader.partCount { start() }
                }
            }
            try await client.completeMultipartUpload(objectKey, uploadID: uploadID, etags: etags)
        } catch {
            try? await client.abortMultipartUpload(objectKey, uploadID: uploadID)
            throw error
        }
    }

    public func open(segmentID: String, rendition: Rendition) async throws -> (any MediaBlob)? {
        guard let dataKey = try await keyring.key(for: segmentID) else { return nil }
        return try await openObject(Self.key(segmentID, rendition), key: dataKey)
    }

    /// An encrypted object of the bucket opened for reading (its header fetched); nil when it is not there.
    func openObject(_ objectKey: String, key: DataKey) async throws -> S3Blob? {
        do {
            guard let bytes = try await client.getBytes(objectKey, range: 0...Int64(ChunkedCipher.headerLength - 1))
            else { return nil }
            let header = try ChunkedCipher.Header(parsing: Array(bytes.readableBytesView))
            return S3Blob(client: client, objectKey: objectKey, header: header, key: ChunkedCipher.Key(key.symmetricKey))
        } catch {
            throw Self.mapped(error)
        }
    }

    public func decrypt(segmentID: String, rendition: Rendition, to path: String) async throws -> Bool {
        guard let blob = try await open(segmentID: segmentID, rendition: rendition) else { return false }
        try await Self.write(blob, to: path)
        return true
    }

    /// Decrypts a whole blob into the plaintext file `path` (created 0600), piece by piece.
    static func write(_ blob: any MediaBlob, to path: String) async throws {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let output = FileHandle(forWritingAtPath: path) else {
            throw ChunkedCipher.CipherError.io("cannot write \(path)")
        }
        defer { try? output.close() }
        let file = SendableFile(handle: output)
        try await blob.readAll { piece in try await BlockingIO.run { try file.handle.write(contentsOf: piece) } }
    }

    public func renditions(segmentID: String) async throws -> Set<Rendition> {
        do {
            let listing = try await client.list(prefix: Self.prefix(segmentID))
            return Set(listing.objects.compactMap { Rendition(rawValue: String($0.key.dropFirst(Self.prefix(segmentID).count))) })
        } catch {
            throw Self.mapped(error)
        }
    }

    public func remove(segmentID: String, rendition: Rendition) async throws {
        do { try await client.deleteObject(Self.key(segmentID, rendition)) } catch { throw Self.mapped(error) }
    }

    /// A presigned GET (SigV4 allows at most seven days), which the store answers with `Range` support.
    public func ciphertextSource(segmentID: String, rendition: Rendition, validFor: Duration) -> CiphertextSource {
        let seconds = Int(min(max(validFor.components.seconds, 1), 7 * 86400))
        return .presigned(url: client.presignedGET(Self.key(segmentID, rendition), expires: seconds))
    }

    @discardableResult
    public func isReady() async -> Bool {
        (try? await client.bucketExists()) == true
    }

    public func removeSegment(_ segmentID: String) async throws -> [RemovedBlob] {
        // An upload still in flight for the segment is not aborted here: `store` finds the key gone when it
        // finishes and takes back what it wrote, and the reaper aborts what a crash left.
        do {
            let objects = try await client.list(prefix: Self.prefix(segmentID)).objects
            try await client.deleteObjects(objects.map(\.key))
            return objects.map { RemovedBlob(name: String($0.key.dropFirst(Self.prefix(segmentID).count)), bytes: $0.size) }
        } catch {
            throw Self.mapped(error)
        }
    }

    public func removeTemporaryFiles(segmentID: String) async throws {
        do { try await abortUploads(prefix: Self.prefix(segmentID), startedBefore: nil) } catch { throw Self.mapped(error) }
    }

    public func removeAbandonedWrites(startedBefore instant: Instant) async throws -> Int {
        do {
            return try await abortUploads(prefix: "", startedBefore: Date(timeIntervalSince1970: Double(instant.milliseconds) / 1000))
        } catch {
            throw Self.mapped(error)
        }
    }

    @discardableResult
    func abortUploads(prefix: String, startedBefore date: Date?) async throws -> Int {
        var count = 0
        for upload in try await client.listMultipartUploads(prefix: prefix) {
            if let date, let initiated = upload.initiated, initiated >= date { continue }
            try await client.abortMultipartUpload(upload.key, uploadID: upload.uploadID)
            count += 1
        }
        return count
    }

    public func segmentIDs() async throws -> [String] {
        do {
            // From the objects themselves: some stores keep an emptied "folder" listed as a common prefix.
            let listing = try await client.list(prefix: "media/")
            let ids = listing.objects.compactMap { $0.key.dropFirst("media/".count).split(separator: "/").first.map(String.init) }
            return Array(Set(ids)).sorted()
        } catch {
            throw Self.mapped(error)
        }
    }

    /// What callers see when the store fails: `media_store_unavailable` (503), except a refusal that is ours.
    static func mapped(_ error: any Error) -> any Error {
        guard let failure = error as? S3Failure else { return error }
        return MediaStoreUnavailable(detail: failure.description)
    }
}

/// An output file written from the thread pool, one piece at a time.
struct SendableFile: @unchecked Sendable {
    let handle: FileHandle
}

/// Reads a plaintext file a part at a time and seals it: the first part starts with the blob's header.
final class PartReader: @unchecked Sendable {
    let handle: FileHandle
    let sealer: ChunkedCipher.Sealer
    let chunksPerPart: Int

    init(path: String, key: SymmetricKey, chunksPerPart: Int) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ChunkedCipher.CipherError.io("cannot read \(path)") }
        self.handle = handle
        let length = Int64(try handle.seekToEnd())
        self.sealer = ChunkedCipher.Sealer(key: key, plaintextLength: length)
        self.chunksPerPart = chunksPerPart
    }

    var partCount: Int { (sealer.header.chunkCount + chunksPerPart - 1) / chunksPerPart }

    /// Part `index` (from 0), sealed. Reads at offsets (no shared file position), so parts may be made at once.
    func part(_ index: Int) throws -> ByteBuffer {
        let chunkSize = sealer.header.chunkSize
        let first = index * chunksPerPart
        let last = min(first + chunksPerPart, sealer.header.chunkCount) - 1
        var buffer = ByteBuffer()
        buffer.reserveCapacity((last - first + 1) * (chunkSize + ChunkedCipher.tagLength) + ChunkedCipher.headerLength)
        if index == 0 { buffer.writeBytes(sealer.headerBytes) }
        var plain = Data(count: chunkSize)
        for chunk in first...last {
            let offset = Int64(chunk) * Int64(chunkSize)
            let length = Int(min(Int64(chunkSize), max(0, sealer.header.plaintextLength - offset)))
            try plain.withUnsafeMutableBytes { raw in
                var done = 0
                while done < length {
                    let n = pread(handle.fileDescriptor, raw.baseAddress! + done, length - done, off_t(offset) + off_t(done))
                    if n > 0 { done += n; continue }
                    if n < 0 && errno == EINTR { continue }
                    throw ChunkedCipher.CipherError.io("the file to upload ended early or cannot be read")
                }
            }
            buffer.writeBytes(try sealer.seal(plain.prefix(length), index: chunk))
        }
        return buffer
    }

    func close() { try? handle.close() }
}

/// A rendition in the bucket: each read fetches the ciphertext of the chunks its range covers, in one ranged
/// GET, and decrypts chunk by chunk as the bytes arrive.
struct S3Blob: MediaBlob {
    let client: S3Client
    let objectKey: String
    let header: ChunkedCipher.Header
    let key: ChunkedCipher.Key

    var plaintextLength: Int64 { header.plaintextLength }

    func read(_ range: ClosedRange<Int64>, _ body: (Data) async throws -> Void) async throws {
        guard header.plaintextLength > 0 else { return }
        let chunk = Int64(header.chunkSize)
        let first = Int(range.lowerBound / chunk)
        let last = Int(range.upperBound / chunk)
        let start = ChunkedCipher.sealedSpan(of: first, header: header).offset
        let end = ChunkedCipher.sealedSpan(of: last, header: header)
        var pending = Data()
        var index = first
        let found: Bool
        do {
            found = try await client.getObject(objectKey, range: start...(end.offset + Int64(end.length) - 1)) { buffer in
                pending.append(contentsOf: buffer.readableBytesView)
                while index <= last {
                    let length = ChunkedCipher.sealedSpan(of: index, header: header).length
                    guard pending.count >= length else { break }
                    let sealed = pending.prefix(length)
                    try await body(try ChunkedCipher.open(sealed: Data(sealed), index: index, header: header, range: range,
                                                          key: key.symmetricKey))
                    pending.removeFirst(length)
                    index += 1
                }
            }
        } catch {
            throw S3MediaStore.mapped(error)
        }
        guard found else { throw MediaStoreUnavailable(detail: "\(objectKey) disappeared while it was read") }
        guard index > last else { throw ChunkedCipher.CipherError.damaged(chunk: index) }
    }

    func close() {}
}
