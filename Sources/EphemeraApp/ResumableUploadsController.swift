import Crypto
import EphemeraCore
import EphemeraUseCases
import EphemeraMedia
import EphemeraStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Resumable uploads, tus 1.0.0 at `/api/v1/uploads`: the core protocol and the creation,
/// creation-with-upload, termination, expiration and checksum extensions.
///
/// Bytes are encrypted into the upload's spool as they stream and committed (fsync, then the offset in the
/// database) at the end of each PATCH and every 16 MiB within one, so a dropped connection or a restarted
/// server resumes from what was committed. When the last byte arrives the upload becomes a post exactly as
/// `POST /api/v1/stories` makes one, in the same transaction that marks the upload complete; the final PATCH
/// answers with the segment ids in `Ephemera-Segments`, and `GET` on the upload URL tells them later.
struct ResumableUploadsController {
    let services: AppServices
    let locks = UploadLocks()

    static let version = "1.0.0"
    static let extensions = "creation,creation-with-upload,termination,expiration,checksum"
    static let checksumAlgorithms = "sha1,sha256"
    static let offsetContentType = "application/offset+octet-stream"
    /// Unfinished uploads (and the record of finished ones) are kept this long.
    static let lifetime: Duration = .seconds(24 * 3600)
    static let commitEvery: Int64 = 16 << 20

    func register(on router: Router<AppRequestContext>) {
        router.on("/api/v1/uploads", method: .options) { _, _ in options() }
        router.on("/api/v1/uploads/:id", method: .options) { _, _ in options() }
        router.post("/api/v1/uploads", use: create)
        router.head("/api/v1/uploads/:id", use: head)
        router.patch("/api/v1/uploads/:id", use: patch)
        router.get("/api/v1/uploads/:id", use: status)
        router.delete("/api/v1/uploads/:id", use: terminate)
    }

    // MARK: Protocol

    func options() -> Response {
        var headers = HTTPFields()
        headers[.tusResumable] = Self.version
        headers[.tusVersion] = Self.version
        headers[.tusExtension] = Self.extensions
        headers[.tusMaxSize] = String(services.configuration.maxUploadBytes)
        headers[.tusChecksumAlgorithm] = Self.checksumAlgorithms
        return Response(status: .noContent, headers: headers)
    }

    /// Every request but OPTIONS must speak our version; anything else is 412 with the versions we speak.
    func checkVersion(_ request: Request) throws {
        guard request.headers[.tusResumable] == Self.version else {
            throw EphemeraError(.preconditionFailed, "tus_version_unsupported",
                                "Send 'Tus-Resumable: 1.0.0'; this server speaks tus \(Self.version).")
        }
    }

    func baseHeaders(_ upload: ResumableUpload) -> HTTPFields {
        var headers = HTTPFields()
        headers[.tusResumable] = Self.version
        headers[.uploadOffset] = String(upload.offset)
        headers[.uploadLength] = String(upload.length)
        headers[.uploadExpires] = Self.httpDate(upload.expiresAt)
        headers[.cacheControl] = "no-store"
        if let postID = upload.postID { headers[.uploadLocationOfPost] = postID }
        return headers
    }

    /// The caller's upload, or 404 (also for someone else's: uploads belong to their creator); 410 once expired.
    func ownUpload(_ context: AppRequestContext) async throws -> ResumableUpload {
        let me = try context.requireAccount()
        guard let upload = try await services.resumableUploads.upload(id: try context.parameters.require("id")),
              upload.ownerID == me.id else {
            throw EphemeraError(.notFound, "upload_not_found", "There is no such upload (or it is not yours).")
        }
        guard services.clock.now() < upload.expiresAt else {
            throw EphemeraError(.gone, "upload_expired",
                                "This upload expired (unfinished uploads are kept 24 hours). Start it again.")
        }
        return upload
    }

    // MARK: Creation

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        try checkVersion(request)
        let me = try context.requireAccount()
        if request.headers[.uploadDeferLength] != nil {
            throw EphemeraError.badRequest("deferred_length_unsupported",
                                           "Give the upload's size in Upload-Length; deferring it is not supported.")
        }
        guard let lengthText = request.headers[.uploadLength], let length = Int64(lengthText), length >= 0 else {
            throw EphemeraError.badRequest("upload_length_missing",
                                           "Send Upload-Length with the file's size in bytes.")
        }
        guard length <= services.configuration.maxUploadBytes else {
            throw PostController.tooLarge(services.configuration.maxUploadBytes)
        }
        guard length > 0 else {
            throw EphemeraError.badRequest("empty_media", "The file is empty. Choose the photo or video again.")
        }
        let rawMetadata = request.headers[.uploadMetadata] ?? ""
        // Check the post's fields now, not after the whole file has been sent.
        _ = try PostFields(try Self.metadata(rawMetadata), settings: me.settings)

        let now = services.clock.now()
        let upload = ResumableUpload(id: IDs.make(), ownerID: me.id, length: length, metadata: rawMetadata,
                                     createdAt: now, expiresAt: now + Self.lifetime)
        try await services.spool.create(upload.id)
        do {
            try await services.resumableUploads.create(upload)
        } catch {
            try? await services.spool.remove(upload.id)
            throw error
        }

        var response: Response
        if request.headers[.contentType]?.lowercased() == Self.offsetContentType {
            // creation-with-upload: the first bytes ride along with the creation request.
            response = try await receive(request, upload: upload, impliedOffset: 0, context: context)
        } else {
            response = Response(status: .created, headers: baseHeaders(upload))
        }
        response.status = .created
        response.headers[.location] = services.publicURL + "/api/v1/uploads/" + upload.id
        return response
    }

    // MARK: Offsets and bytes

    @Sendable func head(_ request: Request, context: AppRequestContext) async throws -> Response {
        try checkVersion(request)
        let upload = try await ownUpload(context)
        var headers = baseHeaders(upload)
        if !upload.metadata.isEmpty { headers[.uploadMetadata] = upload.metadata }
        return Response(status: .ok, headers: headers)
    }

    @Sendable func patch(_ request: Request, context: AppRequestContext) async throws -> Response {
        try checkVersion(request)
        guard request.headers[.contentType]?.lowercased() == Self.offsetContentType else {
            throw EphemeraError(.unsupportedMedia, "wrong_content_type",
                                "Send the bytes with 'Content-Type: application/offset+octet-stream'.")
        }
        return try await receive(request, upload: try await ownUpload(context), context: context)
    }

    /// Appends the request's bytes at `Upload-Offset`, commits them, and completes the upload at the end.
    /// (With creation-with-upload the bytes start at 0 and no `Upload-Offset` is sent: `impliedOffset`.)
    func receive(_ request: Request, upload: ResumableUpload, impliedOffset: Int64? = nil, context: AppRequestContext)
        async throws -> Response
    {
        guard let offset = impliedOffset ?? request.headers[.uploadOffset].flatMap({ Int64($0) }), offset >= 0 else {
            throw EphemeraError.badRequest("upload_offset_missing", "Send Upload-Offset: the number of bytes already sent.")
        }
        if upload.isFinished && offset == upload.length {
            // A retried last PATCH: the upload is done, tell what it became.
            return try await finishedResponse(upload, context: context)
        }
        guard offset == upload.offset, !upload.isFinished else {
            throw EphemeraError(.conflict, "upload_offset_mismatch",
                "The upload is at byte \(upload.offset), not \(offset). Ask with HEAD and continue from there.")
        }
        let remaining = upload.length - upload.offset
        if let declared = request.headers[.contentLength].flatMap({ Int64($0) }), declared > remaining {
            throw EphemeraError(.tooLarge, "upload_length_exceeded",
                "This request carries \(declared) bytes but only \(remaining) remain of the declared Upload-Length.")
        }
        var checksum = try request.headers[.uploadChecksum].map(Checksum.init)

        guard await locks.acquire(upload.id) else {
            throw EphemeraError(.conflict, "upload_busy", "Another request is writing this upload. Wait for it, then resume.")
        }
        do {
            let response = try await append(request, upload: upload, remaining: remaining, checksum: &checksum,
                                            context: context)
            await locks.release(upload.id)
            return response
        } catch {
            await locks.release(upload.id)
            throw error
        }
    }

    func append(_ request: Request, upload: ResumableUpload, remaining: Int64, checksum: inout Checksum?,
                context: AppRequestContext) async throws -> Response {
        let writer = try await services.spool.writer(upload.id, storedBytes: upload.storedBytes, offset: upload.offset)
        var committedOffset = upload.offset
        var sinceCommit: Int64 = 0
        func commit() async throws {
            try await writer.sync()
            guard try await services.resumableUploads.recordProgress(
                id: upload.id, from: committedOffset, offset: writer.offset, storedBytes: writer.storedBytes)
            else {
                await writer.discard()
                throw EphemeraError(.conflict, "upload_offset_mismatch", "The upload moved on meanwhile. Ask with HEAD.")
            }
            committedOffset = writer.offset
            sinceCommit = 0
        }

        do {
            for try await buffer in request.body {
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

        var current = upload
        current.offset = writer.offset
        current.storedBytes = writer.storedBytes
        if current.offset == current.length {
            return try await complete(current, context: context)
        }
        return Response(status: .noContent, headers: baseHeaders(current))
    }

    /// All bytes are in: decrypt the spool into the scratch area and make the post, exactly once.
    func complete(_ upload: ResumableUpload, context: AppRequestContext) async throws -> Response {
        let author = try context.requireAccount()
        let postID = IDs.make()
        let source = services.mediaStore.incomingPath(postID)
        var committed = false
        defer { if !committed { services.mediaStore.removeLocalIncoming(postID) } }
        do {
            let fields = try PostFields(try Self.metadata(upload.metadata), settings: author.settings)
            try await services.spool.decrypt(upload.id, storedBytes: upload.storedBytes, to: source)
            _ = try await services.posting.post(by: author, fields.request, uploadID: postID, completing: upload.id)
            committed = true
        } catch is ResumableUploadAlreadyPosted {
            // Another request completed it first: answer as it did.
        } catch let error as EphemeraError {
            // The content was refused (too long, not a video…): say why now and on GET; drop the bytes.
            try await services.resumableUploads.markFailed(id: upload.id, code: error.code, message: error.message)
            try? await services.spool.remove(upload.id)
            throw error
        }
        try? await services.spool.remove(upload.id)
        guard let finished = try await services.resumableUploads.upload(id: upload.id) else {
            throw EphemeraError.storyNotFound
        }
        return try await finishedResponse(finished, context: context)
    }

    func finishedResponse(_ upload: ResumableUpload, context: AppRequestContext) async throws -> Response {
        if let code = upload.failureCode {
            throw EphemeraError(.unprocessable, code, upload.failureMessage ?? "The upload could not be posted.")
        }
        var headers = baseHeaders(upload)
        if let postID = upload.postID {
            headers[.ephemeraSegments] = try await services.segments.segments(uploadID: postID).map(\.id)
                .joined(separator: ",")
        }
        return Response(status: .noContent, headers: headers)
    }

    // MARK: Status and termination

    struct StatusBody: Encodable {
        struct Failure: Encodable {
            var code: String
            var message: String
        }
        var id: String
        var length: Int64
        var offset: Int64
        var expiresAt: String
        var complete: Bool
        var segments: [SegmentBody]
        var failure: Failure?
    }

    @Sendable func status(_ request: Request, context: AppRequestContext) async throws -> Response {
        let upload = try await ownUpload(context)
        let author = try context.requireAccount()
        var segments: [SegmentBody] = []
        if let postID = upload.postID {
            segments = try await services.segments.segments(uploadID: postID).map {
                SegmentBody($0, author: author, viewer: context.viewer, seen: false, publicURL: services.publicURL)
            }
        }
        return try jsonResponse(StatusBody(
            id: upload.id, length: upload.length, offset: upload.offset, expiresAt: upload.expiresAt.rfc3339,
            complete: upload.postID != nil, segments: segments,
            failure: upload.failureCode.map { StatusBody.Failure(code: $0, message: upload.failureMessage ?? "") }))
    }

    @Sendable func terminate(_ request: Request, context: AppRequestContext) async throws -> Response {
        try checkVersion(request)
        let upload = try await ownUpload(context)
        guard await locks.acquire(upload.id) else {
            throw EphemeraError(.conflict, "upload_busy", "A request is writing this upload; try again when it ends.")
        }
        do {
            try await services.spool.remove(upload.id)
            try await services.resumableUploads.delete(id: upload.id)
            await locks.release(upload.id)
        } catch {
            await locks.release(upload.id)
            throw error
        }
        var headers = HTTPFields()
        headers[.tusResumable] = Self.version
        return Response(status: .noContent, headers: headers)
    }

    // MARK: Helpers

    /// `Upload-Metadata`: comma-separated `key base64(value)` pairs (a key may come without a value).
    static func metadata(_ header: String) throws -> [String: String] {
        var fields: [String: String] = [:]
        for pair in header.split(separator: ",") {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
            guard let key = parts.first.map(String.init), !key.isEmpty else { continue }
            if parts.count == 1 { fields[key] = ""; continue }
            guard let data = Data(base64Encoded: String(parts[1])), let value = String(data: data, encoding: .utf8) else {
                throw EphemeraError.badRequest("invalid_upload_metadata",
                    "Upload-Metadata must be 'key base64value' pairs separated by commas; '\(key)' is not base64 text.")
            }
            fields[key] = value
        }
        return fields
    }

    static func httpDate(_ instant: Instant) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: instant.date)
    }

    /// `Upload-Checksum: sha1|sha256 <base64 digest>` of one request's bytes.
    struct Checksum {
        enum Hasher {
            case sha1(Insecure.SHA1)
            case sha256(SHA256)
        }
        var hasher: Hasher
        let expected: Data

        init(_ header: String) throws {
            let parts = header.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2, let expected = Data(base64Encoded: parts[1]) else {
                throw EphemeraError.badRequest("invalid_checksum", "Upload-Checksum must be '<algorithm> <base64 digest>'.")
            }
            switch parts[0].lowercased() {
            case "sha1": hasher = .sha1(Insecure.SHA1())
            case "sha256": hasher = .sha256(SHA256())
            default:
                throw EphemeraError.badRequest("checksum_algorithm_unsupported",
                    "Upload-Checksum algorithm '\(parts[0])' is not supported; use sha1 or sha256.")
            }
            self.expected = expected
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
}

/// Which uploads a request is writing right now (one writer per upload in this process).
actor UploadLocks {
    private var busy: Set<String> = []

    func acquire(_ id: String) -> Bool { busy.insert(id).inserted }
    func release(_ id: String) { busy.remove(id) }
}

extension HTTPField.Name {
    static let tusResumable = Self("Tus-Resumable")!
    static let tusVersion = Self("Tus-Version")!
    static let tusExtension = Self("Tus-Extension")!
    static let tusMaxSize = Self("Tus-Max-Size")!
    static let tusChecksumAlgorithm = Self("Tus-Checksum-Algorithm")!
    static let uploadOffset = Self("Upload-Offset")!
    static let uploadLength = Self("Upload-Length")!
    static let uploadDeferLength = Self("Upload-Defer-Length")!
    static let uploadMetadata = Self("Upload-Metadata")!
    static let uploadExpires = Self("Upload-Expires")!
    static let uploadChecksum = Self("Upload-Checksum")!
    /// The segments a completed upload became, comma separated.
    static let ephemeraSegments = Self("Ephemera-Segments")!
    /// The post (`uploads` id) a completed upload became.
    static let uploadLocationOfPost = Self("Ephemera-Post")!
}
