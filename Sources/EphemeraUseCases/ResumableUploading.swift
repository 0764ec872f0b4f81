import Crypto
import EphemeraCore
import EphemeraStore
import Foundation
import NIOCore

/// Resumable (tus) uploads: making one, appending bytes at its offset into its spool and committing them, and
/// turning it into a post when the last byte arrives — exactly once, in the transaction that marks it complete.
/// The spool is a port: on a disk it serves the node that holds it; in an object store, any node.
public struct ResumableUploading: Sendable {
    let uploads: SQLResumableUploadStore
    let spool: any UploadSpool
    let inbox: any UploadInbox
    let posting: Posting
    let segments: SQLSegmentStore
    let maxUploadBytes: Int64
    let clock: any EphemeraClock
    let locks = UploadLocks()

    /// Unfinished uploads (and the record of finished ones) are kept this long.
    public static let lifetime: Duration = .seconds(24 * 3600)
    /// Without a checksum, bytes are committed as they stream, every this many.
    public static let commitEvery: Int64 = 16 << 20

    public init(uploads: SQLResumableUploadStore, spool: any UploadSpool, inbox: any UploadInbox, posting: Posting,
                segments: SQLSegmentStore, maxUploadBytes: Int64, clock: any EphemeraClock) {
        self.uploads = uploads
        self.spool = spool
        self.inbox = inbox
        self.posting = posting
        self.segments = segments
        self.maxUploadBytes = maxUploadBytes
        self.clock = clock
    }

    /// A new upload of `length` bytes; its post's fields (`Upload-Metadata`) are checked now, not after the
    /// whole file has been sent.
    public func create(by owner: Account, length: Int64, metadata: String, address: String?) async throws -> ResumableUpload {
        guard length <= maxUploadBytes else { throw MediaRules.uploadTooLarge(maxUploadBytes) }
        guard length > 0 else {
            throw EphemeraError.badRequest("empty_media", "The file is empty. Choose the photo or video again.")
        }
        let fields = try PostFields(try TusHeaders.metadata(metadata), settings: owner.settings)
        guard fields.textStory == nil else { throw TextStory.sentWithFile }
        _ = try posting.schedule(of: fields.request)
        // An upload is a post to be: counted and capped when it is created, not once its bytes are all here.
        try await posting.admit(owner, address: address)
        let now = clock.now()
        let upload = ResumableUpload(id: IDs.make(), ownerID: owner.id, length: length, metadata: metadata,
                                     createdAt: now, expiresAt: now + Self.lifetime)
        try await spool.create(upload.id)
        do {
            try await uploads.create(upload)
        } catch {
            try? await spool.remove(upload.id)
            throw error
        }
        return upload
    }

    /// `owner`'s upload `id`, or 404 (also for someone else's: uploads belong to their creator); 410 once expired.
    public func upload(_ id: String, of owner: Account) async throws -> ResumableUpload {
        guard let upload = try await uploads.upload(id: id), upload.ownerID == owner.id else {
            throw EphemeraError(.notFound, "upload_not_found", "There is no such upload (or it is not yours).")
        }
        guard clock.now() < upload.expiresAt else {
            throw EphemeraError(.gone, "upload_expired", "This upload expired (unfinished uploads are kept 24 hours). Start it again.")
        }
        return upload
    }

    /// Appends `body` at `offset`, commits it, and completes the upload when it was the last byte; returns the
    /// upload as it now stands. `declaredLength` is the request's `Content-Length`, when it has one.
    public func append<Body: AsyncSequence>(to upload: ResumableUpload, by author: Account, at offset: Int64,
                                            declaredLength: Int64?, checksum: UploadChecksum?, body: Body)
        async throws -> ResumableUpload where Body.Element == ByteBuffer
    {
        if upload.isFinished && offset == upload.length {
            // A retried last PATCH: the upload is done; tell what it became.
            return try await finished(upload)
        }
        guard offset == upload.offset, !upload.isFinished else {
            throw EphemeraError(.conflict, "upload_offset_mismatch",
                "The upload is at byte \(upload.offset), not \(offset). Ask with HEAD and continue from there.")
        }
        let remaining = upload.length - upload.offset
        if let declaredLength, declaredLength > remaining {
            throw EphemeraError(.tooLarge, "upload_length_exceeded",
                "This request carries \(declaredLength) bytes but only \(remaining) remain of the declared Upload-Length.")
        }
        guard await locks.acquire(upload.id) else {
            throw EphemeraError(.conflict, "upload_busy", "Another request is writing this upload. Wait for it, then resume.")
        }
        do {
            // The lock is held through completion too, so a retried last PATCH waits for the post, not races it.
            var current = upload
            current.spoolPosition = try await write(body, to: upload, remaining: remaining, checksum: checksum)
            if current.offset == current.length { current = try await complete(current, by: author) }
            await locks.release(upload.id)
            return current
        } catch {
            await locks.release(upload.id)
            throw error
        }
    }

    /// Streams the bytes into the spool and returns the position committed at the end.
    func write<Body: AsyncSequence>(_ body: Body, to upload: ResumableUpload, remaining: Int64,
                                    checksum: UploadChecksum?) async throws -> SpoolPosition where Body.Element == ByteBuffer {
        var checksum = checksum
        let writer = try await spool.writer(upload.id, committed: upload.spoolPosition)
        var committedOffset = upload.offset
        var sinceCommit: Int64 = 0
        func commit() async throws {
            try await writer.sync()
            guard try await uploads.recordProgress(id: upload.id, from: committedOffset, to: writer.committed) else {
                await writer.discard()
                throw EphemeraError(.conflict, "upload_offset_mismatch", "The upload moved on meanwhile. Ask with HEAD.")
            }
            committedOffset = writer.committed.offset
            sinceCommit = 0
        }

        do {
            for try await buffer in body {
                if writer.received + Int64(buffer.readableBytes) > remaining {
                    await writer.discard()
                    throw EphemeraError(.tooLarge, "upload_length_exceeded",
                        "More bytes arrived than the declared Upload-Length (\(upload.length)); they were not kept.")
                }
                buffer.withUnsafeReadableBytes { raw in
                    checksum?.update(raw)
                    writer.append(raw)
                }
                try await writer.flush()
                sinceCommit += Int64(buffer.readableBytes)
                // Without a checksum every byte is worth keeping: commit as we go, so an interrupted request
                // loses little. With one, nothing of this request counts until it is verified.
                if checksum == nil && sinceCommit >= Self.commitEvery { try await commit() }
            }
        } catch let error as EphemeraError {
            throw error
        } catch let error as MediaStoreUnavailable {
            await writer.discard()
            throw error
        } catch {
            // The connection dropped. Keep what arrived, unless a checksum could not be verified.
            if checksum == nil { try? await commit() } else { await writer.discard() }
            throw error
        }
        if let checksum, !checksum.matches() {
            await writer.discard()
            throw EphemeraError(.checksumMismatch, "checksum_mismatch",
                "The bytes do not match Upload-Checksum; they were not kept. Send this part again.")
        }
        try await commit()
        return writer.committed
    }

    /// All bytes are in: assemble the spool in the scratch area and make the post, exactly once.
    func complete(_ upload: ResumableUpload, by author: Account) async throws -> ResumableUpload {
        let postID = IDs.make()
        let source = inbox.incomingPath(postID)
        var committed = false
        defer { if !committed { try? FileManager.default.removeItem(atPath: source) } }
        do {
            let fields = try PostFields(try TusHeaders.metadata(upload.metadata), settings: author.settings)
            try await spool.assemble(upload.id, committed: upload.spoolPosition, to: source)
            _ = try await posting.post(by: author, fields.request, uploadID: postID, completing: upload.id)
            committed = true
        } catch is ResumableUploadAlreadyPosted {
            // Another request completed it first: answer as it did.
        } catch let error as EphemeraError where error.isTransient {
            // The server could not post it now (database or storage down, disk full, busy): the bytes stay, and
            // the client's retried last PATCH (at offset == length) completes it.
            throw error
        } catch let error as EphemeraError {
            // The content was refused (too long, not a video…): say why now and on GET; drop the bytes.
            try await uploads.markFailed(id: upload.id, code: error.code, message: error.message)
            try? await spool.remove(upload.id)
            throw error
        }
        try? await spool.remove(upload.id)
        guard let finished = try await uploads.upload(id: upload.id) else { throw EphemeraError.storyNotFound }
        return try await self.finished(finished)
    }

    /// A finished upload as it stands, or the error its content was refused with.
    func finished(_ upload: ResumableUpload) async throws -> ResumableUpload {
        if let code = upload.failureCode {
            throw EphemeraError(.unprocessable, code, upload.failureMessage.map(Phrase.init(verbatim:))
                                ?? "The upload could not be posted.")
        }
        return upload
    }

    /// The segments a completed upload became (none before it completes).
    public func segments(of upload: ResumableUpload) async throws -> [Segment] {
        guard let postID = upload.postID else { return [] }
        return try await segments.segments(uploadID: postID)
    }

    /// Stops an upload: its row, its spool and its key go.
    public func terminate(_ upload: ResumableUpload) async throws {
        guard await locks.acquire(upload.id) else {
            throw EphemeraError(.conflict, "upload_busy", "A request is writing this upload; try again when it ends.")
        }
        do {
            try await spool.remove(upload.id)
            try await uploads.delete(id: upload.id)
            await locks.release(upload.id)
        } catch {
            await locks.release(upload.id)
            throw error
        }
    }
}

/// Which uploads a request is writing right now (one writer per upload in this process).
actor UploadLocks {
    private var busy: Set<String> = []

    func acquire(_ id: String) -> Bool { busy.insert(id).inserted }
    func release(_ id: String) { busy.remove(id) }
}

/// `Upload-Checksum: sha1|sha256 <base64 digest>` of one request's bytes.
public struct UploadChecksum: Sendable {
    enum Hasher: @unchecked Sendable {
        case sha1(Insecure.SHA1)
        case sha256(SHA256)
    }
    var hasher: Hasher
    let expected: Data

    public static let algorithms = "sha1,sha256"

    public init(_ header: String) throws {
        let (algorithm, digest) = try TusHeaders.checksum(header)
        switch algorithm {
        case .sha1: hasher = .sha1(Insecure.SHA1())
        case .sha256: hasher = .sha256(SHA256())
        }
        self.expected = Data(digest)
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch hasher {
        case .sha1(var h): h.update(bufferPointer: bytes); hasher = .sha1(h)
        case .sha256(var h): h.update(bufferPointer: bytes); hasher = .sha256(h)
        }
    }

    func matches() -> Bool {
        switch hasher {
        case .sha1(let h): Data(h.finalize()) == expected
        case .sha256(let h): Data(h.finalize()) == expected
        }
    }
}
