import EphemeraCore
import EphemeraUseCases
import EphemeraMedia
import NIOCore
import NIOFoundationCompat
import Foundation
import HTTPTypes
import Hummingbird

/// `GET /media/{id}/{rendition}`: our re-encoded derivatives only, decrypted chunk by chunk as they stream, with `Range` (206),
/// `ETag`/`If-None-Match` (304), a fixed Content-Type and `nosniff`. Access is the segment's visibility;
/// the author may also fetch media of their own segments that are not live (archive, recently deleted), and a
/// highlight's audience media of its segments with `?highlight={id}`.
struct MediaController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.get("/media/:id/:rendition", use: media)
        router.head("/media/:id/:rendition", use: media)
    }

    @Sendable func media(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let rendition = Rendition(rawValue: try context.parameters.require("rendition")) else {
            throw EphemeraError.mediaNotFound
        }
        // Through a highlight, its audience reads a segment past its expiry; otherwise the segment's own visibility.
        let segment = if let highlight = request.uri.queryParameters["highlight"].map(String.init) {
            try await services.highlighting.segmentForMedia(id, rendition: rendition, highlightID: highlight,
                                                            by: context.account)
        } else {
            try await services.reading.segmentForMedia(id, rendition: rendition, by: context.account)
        }
        let tag = segment.mediaTag ?? segment.id

        guard let blob = try await services.media.open(segmentID: id, rendition: rendition) else {
            context.logger.error("Media blob or key missing for a readable segment", metadata: ["segment": "\(id)"])
            throw EphemeraError.mediaNotFound
        }
        let size = blob.plaintextLength
        let etag = "\"\(tag)-\(rendition.rawValue)\""
        var headers = HTTPFields()
        headers[.contentType] = rendition.contentType
        headers[.xContentTypeOptions] = "nosniff"
        headers[.acceptRanges] = "bytes"
        headers[.eTag] = etag
        // Public media may sit in shared caches briefly; anything else only in the viewer's own cache.
        let isPublic = segment.audience == .public && segment.state == .live
        headers[.cacheControl] = isPublic ? "public, max-age=60" : "private, max-age=60"
        headers[.vary] = "Authorization, Cookie"

        if let match = request.headers[.ifNoneMatch], headerListItems(match).contains(where: {
            $0 == etag || $0 == "W/" + etag || $0 == "*"
        }) {
            blob.close()
            return Response(status: .notModified, headers: headers)
        }

        guard let (status, range) = Self.selectRange(request, etag: etag, size: size, headers: &headers) else {
            blob.close()
            return Response(status: .rangeNotSatisfiable, headers: headers)
        }
        let length = size == 0 ? 0 : range.upperBound - range.lowerBound + 1
        headers[.contentLength] = String(length)
        if request.method == .head || size == 0 {
            blob.close()
            return Response(status: status, headers: headers)
        }
        return Response(status: status, headers: headers,
                        body: Self.decryptedBody(blob, range: range))
    }

    /// A response body that decrypts only the chunks `range` covers, one at a time as the client reads, and
    /// closes the blob when done. `range` must lie within a non-empty blob.
    static func decryptedBody(_ blob: any MediaBlob, range: ClosedRange<Int64>) -> ResponseBody {
        ResponseBody(contentLength: Int(range.upperBound - range.lowerBound + 1)) { writer in
            defer { blob.close() }
            try await blob.read(range) { piece in try await writer.write(ByteBuffer(data: piece)) }
            try await writer.finish(nil)
        }
    }

    /// What to send for `Range` and `If-Range`: 200 and the whole blob, or 206 and one range with
    /// `Content-Range` set; nil when the range cannot be satisfied (`Content-Range` then tells the size).
    /// `chosen`: the range `chooseRange` already picked for these headers and this size, when the caller has it.
    static func selectRange(_ request: Request, etag: String, size: Int64, chosen: ClosedRange<Int64>? = nil,
                            headers: inout HTTPFields) -> (HTTPResponse.Status, ClosedRange<Int64>)?
    {
        selectRange(request.headers, etag: etag, size: size, chosen: chosen, headers: &headers)
    }

    /// `selectRange` for a request's header fields.
    static func selectRange(_ requestHeaders: HTTPFields, etag: String, size: Int64, chosen: ClosedRange<Int64>? = nil,
                            headers: inout HTTPFields) -> (HTTPResponse.Status, ClosedRange<Int64>)?
    {
        let header = requestHeaders[.range], ifRange = requestHeaders[.ifRange]
        guard let range = chosen ?? chooseRange(header, ifRange: ifRange, etag: etag, size: size) else {
            headers[.contentRange] = "bytes */\(size)"
            return nil
        }
        guard appliesRange(header, ifRange: ifRange, etag: etag) else { return (.ok, range) }
        headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
        return (.partialContent, range)
    }

    /// The bytes to send for these headers: the whole blob, or the one range asked for; nil when it cannot be
    /// satisfied. Pure, so that it can also run where the blob's size is first known (`FileRanges.open`).
    static func chooseRange(_ header: String?, ifRange: String?, etag: String, size: Int64) -> ClosedRange<Int64>? {
        guard let header, appliesRange(header, ifRange: ifRange, etag: etag) else { return 0...max(size - 1, 0) }
        return ByteRange.parse(header, size: size)
    }

    /// A `Range` applies unless `If-Range` names a different ETag, which means "send the whole thing".
    static func appliesRange(_ header: String?, ifRange: String?, etag: String) -> Bool {
        guard header != nil else { return false }
        guard let ifRange else { return true }
        return ifRange.trimmingCharacters(in: .whitespaces) == etag
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
}
