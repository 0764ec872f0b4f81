import EphemeraCore
import EphemeraMultipart
import EphemeraUseCases
import EphemeraMedia
import EphemeraStore
import EphemeraWorkers
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /api/v1/stories`: receives a multipart upload as it streams (the media part straight to disk, the
/// body refused once it passes the limit), identifies it by probing, and records the upload, its
/// `processing` segments and the processing job in one transaction. A rejected upload leaves nothing behind.
struct PostController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.post("/api/v1/stories", use: post)
    }

    /// Room for the form fields and multipart framing on top of the media limit.
    static let framingAllowance: Int64 = 1_000_000

    @Sendable func post(_ request: Request, context: AppRequestContext) async throws -> Response {
        let author = try context.requireAccount()
        let limit = services.configuration.maxUploadBytes + Self.framingAllowance
        guard let contentType = request.headers[.contentType], contentType.lowercased().hasPrefix("multipart/form-data"),
              let boundary = Self.boundary(of: contentType) else {
            throw EphemeraError.badRequest("expected_multipart",
                "Send the story as multipart/form-data with the file in the field 'media'.")
        }
        if let length = request.headers[.contentLength].flatMap({ Int64($0) }), length > limit {
            throw MediaRules.uploadTooLarge(services.configuration.maxUploadBytes)
        }
        // Before a byte of the file is read: the posting rate limit and the cap on queued media work.
        try await services.posting.admit(author, address: context.address)

        let uploadID = IDs.make()
        let sourcePath = services.mediaStore.incomingPath(uploadID)
        let soundPath = services.mediaStore.incomingPath(UploadInboxNames.sound(uploadID))
        var committed = false
        var soundUsed = false
        defer {
            if !committed { try? FileManager.default.removeItem(atPath: sourcePath) }
            if !committed || !soundUsed { try? FileManager.default.removeItem(atPath: soundPath) }
        }

        let receiving = ContinuousClock.now
        let form = try await receive(request.body, boundary: boundary, mediaPath: sourcePath, soundPath: soundPath, limit: limit)
        context.logger.debug("Upload received", metadata: [
            "bytes": "\(form.media.bytes)", "seconds": "\(ContinuousClock.now - receiving)"])
        let fields = try PostFields(form.fields, settings: author.settings)
        if let story = fields.textStory {
            guard !form.media.received, !form.sound.received else { throw TextStory.sentWithFile }
            let segments = try await services.posting.postText(by: author, fields.request, text: story.text,
                                                               background: story.background, uploadID: uploadID)
            committed = true
            return try created(segments, by: author, context: context)
        }
        guard form.media.received else {
            throw EphemeraError.badRequest("media_missing", "Attach the photo or video as the form field 'media'.")
        }
        guard form.media.bytes > 0 else {
            throw EphemeraError.badRequest("empty_media", "The file in 'media' is empty. Choose the photo or video again.")
        }
        var post = fields.request
        if form.sound.received && form.sound.bytes > 0 {
            post.creative.soundDemuxer = try await services.posting.soundDemuxer(uploadID: uploadID, sizeBytes: form.sound.bytes)
            soundUsed = true
        }

        let segments = try await services.posting.post(by: author, post, uploadID: uploadID)
        committed = true
        return try created(segments, by: author, context: context)
    }

    /// 201 `{segments:[segment]}`.
    func created(_ segments: [Segment], by author: Account, context: AppRequestContext) throws -> Response {
        let bodies = segments.map {
            SegmentBody($0, author: author, viewer: context.viewer, seen: false, publicURL: services.publicURL)
        }
        return try jsonResponse(SegmentsBody(segments: bodies), status: .created)
    }

    struct SegmentsBody: Encodable {
        var segments: [SegmentBody]
    }

    static func boundary(of contentType: String) -> String? {
        for part in contentType.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            if pair.lowercased().hasPrefix("boundary=") {
                var value = String(pair.dropFirst("boundary=".count))
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                return value.isEmpty ? nil : value
            }
        }
        return nil
    }

    /// Streams the body through the multipart parser: `media` and `sound` go to disk chunk by chunk, small
    /// fields are kept, and the whole body is refused once it passes `limit`.
    func receive(_ body: RequestBody, boundary: String, mediaPath: String, soundPath: String, limit: Int64) async throws
        -> MultipartReceiver
    {
        let receiver = try MultipartReceiver(boundary: boundary, mediaPath: mediaPath, soundPath: soundPath)
        defer { receiver.close() }
        var total: Int64 = 0
        do {
            for try await buffer in body {
                total += Int64(buffer.readableBytes)
                if total > limit { throw MediaRules.uploadTooLarge(services.configuration.maxUploadBytes) }
                try receiver.feed(buffer)
                try await receiver.writePending(atLeast: FilePart.writeBlock)
            }
            try await receiver.finish()
        } catch let error as EphemeraError {
            throw error
        } catch {
            throw EphemeraError.badRequest("malformed_multipart",
                "The multipart body could not be read (\(error)). Send it again as multipart/form-data.")
        }
        return receiver
    }
}

/// A file part of the form, written to disk as it arrives: collected in memory by the parser's callbacks and
/// written in blocks on the thread pool between them (one request owns it; never two threads at once).
final class FilePart: @unchecked Sendable {
    let path: String
    let handle: FileHandle
    var bytes: Int64 = 0
    var received = false
    /// The body arrives in the network's slices (tens of KiB); collect them and write in large blocks.
    var pending = ByteBuffer()
    static let writeBlock = 1 << 20

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path) else {
            if errno == ENOSPC || errno == EDQUOT { throw StorageRules.storageFull }
            throw EphemeraError(.internal, "storage_unavailable", "The server cannot store uploads right now.")
        }
        self.path = path
        self.handle = handle
    }

    func append(_ buffer: inout ByteBuffer) {
        received = true
        bytes += Int64(buffer.readableBytes)
        pending.writeBuffer(&buffer)
    }

    /// Writes what has collected, once there is at least `minimum` of it, on the thread pool.
    func write(atLeast minimum: Int) async throws {
        guard pending.readableBytes >= max(minimum, 1) else { return }
        try await BlockingIO.run { try self.flush() }
    }

    private func flush() throws {
        while pending.readableBytes > 0 {
            let written = pending.withUnsafeReadableBytes { Glibc.write(handle.fileDescriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                // The scratch folder filled up while the body streamed in: 507, and the partial file goes.
                if errno == ENOSPC || errno == EDQUOT { throw StorageRules.storageFull }
                throw EphemeraError(.internal, "storage_unavailable", "The server could not store the upload.")
            }
            pending.moveReaderIndex(forwardBy: written)
        }
        pending.clear()
    }
}

/// The multipart parser's events: the `media` and `sound` parts go to disk as they arrive, other fields are
/// kept (at most 64 KiB each).
final class MultipartReceiver {

    var parser: MultipartStream
    let media: FilePart
    let sound: FilePart
    var fields: [String: String] = [:]
    var headers: [String: String] = [:]
    var fieldBuffer: [UInt8] = []
    /// Fields so far and their bytes (`FormLimits`), counted as they arrive.
    var fieldCount = 0
    var fieldBytes = 0

    init(boundary: String, mediaPath: String, soundPath: String) throws {
        parser = MultipartStream(boundary: boundary)
        media = try FilePart(path: mediaPath)
        sound = try FilePart(path: soundPath)
    }

    var partName: String? { Self.parameter("name", in: headers["content-disposition"] ?? "") }

    var filePart: FilePart? {
        switch partName {
        case "media": media
        case "sound": sound
        default: nil
        }
    }

    func body(_ buffer: inout ByteBuffer) throws {
        if let part = filePart {
            part.append(&buffer)
        } else {
            fieldBuffer += buffer.readableBytesView
            fieldBytes += buffer.readableBytes
            if fieldBuffer.count > FormLimits.maxFieldBytes { throw FormLimits.fieldTooLarge(partName ?? "") }
            if fieldBytes > FormLimits.maxTotalFieldBytes { throw FormLimits.fieldsTooLarge }
        }
    }

    func partComplete() {
        if let part = filePart {
            part.received = true
        } else if let name = partName {
            fields[name] = String(decoding: fieldBuffer, as: UTF8.self)
        }
        fieldBuffer = []
        headers = [:]
    }

    func feed(_ buffer: ByteBuffer) throws {
        try parser.feed(buffer) { event in
            switch event {
            case .headers(let headers):
                self.headers = headers
                if filePart == nil {
                    fieldCount += 1
                    if fieldCount > FormLimits.maxFields { throw FormLimits.tooManyFields }
                }
            case .body(var piece): try body(&piece)
            case .partEnd: partComplete()
            }
        }
    }

    /// Writes the file parts' collected bytes once at least `minimum` have collected.
    func writePending(atLeast minimum: Int) async throws {
        try await media.write(atLeast: minimum)
        try await sound.write(atLeast: minimum)
    }

    func finish() async throws {
        try parser.finish()
        try await writePending(atLeast: 1)
    }

    func close() {
        try? media.handle.close()
        try? sound.handle.close()
    }

    /// A parameter of a header value such as `form-data; name="media"; filename="a.mp4"`.
    static func parameter(_ name: String, in header: String) -> String? {
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            guard pair.lowercased().hasPrefix(name + "=") else { continue }
            var value = String(pair.dropFirst(name.count + 1))
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }
}
