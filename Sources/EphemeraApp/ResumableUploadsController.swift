import EphemeraCore
import EphemeraUseCases
import EphemeraStore
import Foundation
import HTTPTypes
import Hummingbird

/// Resumable uploads, tus 1.0.0 at `/api/v1/uploads`: the core protocol and the creation,
/// creation-with-upload, termination, expiration and checksum extensions, spoken over HTTP here and carried
/// out by `ResumableUploading`.
///
/// Bytes are encrypted into the upload's spool as they stream and committed (stored, then the offset in the
/// database) at the end of each PATCH and every 16 MiB within one, so a dropped connection or a restarted
/// server resumes from what was committed. When the last byte arrives the upload becomes a post exactly as
/// `POST /api/v1/stories` makes one, in the same transaction that marks the upload complete; the final PATCH
/// answers with the segment ids in `Ephemera-Segments`, and `GET` on the upload URL tells them later.
struct ResumableUploadsController {
    let services: AppServices

    static let version = "1.0.0"
    static let extensions = "creation,creation-with-upload,termination,expiration,checksum"
    static let offsetContentType = "application/offset+octet-stream"

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
        headers[.tusChecksumAlgorithm] = UploadChecksum.algorithms
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

    func ownUpload(_ context: AppRequestContext) async throws -> ResumableUpload {
        try await services.resumableUploading.upload(try context.parameters.require("id"), of: try context.requireAccount())
    }

    // MARK: Creation

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        try checkVersion(request)
        let me = try context.requireAccount()
        if request.headers[.uploadDeferLength] != nil {
            throw EphemeraError.badRequest("deferred_length_unsupported",
                                           "Give the upload's size in Upload-Length; deferring it is not supported.")
        }
        guard let length = TusHeaders.byteCount(request.headers[.uploadLength]) else {
            throw EphemeraError.badRequest("upload_length_missing",
                                           "Send Upload-Length with the file's size in bytes.")
        }
        let upload = try await services.resumableUploading.create(by: me, length: length,
                                                                  metadata: request.headers[.uploadMetadata] ?? "",
                                                                  address: context.address)
        var response: Response
        if request.headers[.contentType]?.lowercased() == Self.offsetContentType {
            // creation-with-upload: the first bytes ride along with the creation request.
            response = try await receive(request, upload: upload, offset: 0, context: context)
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
        guard let offset = TusHeaders.byteCount(request.headers[.uploadOffset]) else {
            throw EphemeraError.badRequest("upload_offset_missing", "Send Upload-Offset: the number of bytes already sent.")
        }
        return try await receive(request, upload: try await ownUpload(context), offset: offset, context: context)
    }

    /// Appends the request's bytes at `offset`; the answer tells the new offset, or what the upload became.
    func receive(_ request: Request, upload: ResumableUpload, offset: Int64, context: AppRequestContext)
        async throws -> Response
    {
        let current = try await services.resumableUploading.append(
            to: upload, by: try context.requireAccount(), at: offset,
            declaredLength: request.headers[.contentLength].flatMap { Int64($0) },
            checksum: try request.headers[.uploadChecksum].map(UploadChecksum.init), body: request.body)
        var headers = baseHeaders(current)
        if current.postID != nil {
            headers[.ephemeraSegments] = try await services.resumableUploading.segments(of: current).map(\.id)
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
        let segments = try await services.resumableUploading.segments(of: upload).map {
            SegmentBody($0, author: author, viewer: context.viewer, seen: false, publicURL: services.publicURL)
        }
        return try jsonResponse(StatusBody(
            id: upload.id, length: upload.length, offset: upload.offset, expiresAt: upload.expiresAt.rfc3339,
            complete: upload.postID != nil, segments: segments,
            failure: upload.failureCode.map { StatusBody.Failure(code: $0, message: upload.failureMessage ?? "") }))
    }

    @Sendable func terminate(_ request: Request, context: AppRequestContext) async throws -> Response {
        try checkVersion(request)
        try await services.resumableUploading.terminate(try await ownUpload(context))
        var headers = HTTPFields()
        headers[.tusResumable] = Self.version
        return Response(status: .noContent, headers: headers)
    }

    // MARK: Helpers

    static func httpDate(_ instant: Instant) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: instant.date)
    }
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
