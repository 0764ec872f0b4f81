import EphemeraCore
import EphemeraMedia
import EphemeraStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /api/v1/me/export`: a zip of all my segments' media (decrypted) and `stories.json` with their
/// metadata and counts, streamed entry by entry.
struct ExportController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.get("/api/v1/me/export", use: export)
    }

    struct ExportBody: Encodable {
        var account: AccountBody
        var exportedAt: String
        var segments: [ExportedSegment]
    }

    struct ExportedSegment: Encodable {
        var segment: SegmentBody
        var files: [String]
        var comments: [CommentBody]
    }

    /// Every comment on a segment, page by page.
    func allComments(of segmentID: String) async throws -> [CommentBody] {
        var bodies: [CommentBody] = []
        var cursor: PageCursor?
        repeat {
            let page = try await services.interactions.comments(segmentID: segmentID, limit: 100, after: cursor)
            let authors = try await services.accounts.accounts(ids: Set(page.items.map(\.authorID)))
            bodies += page.items.compactMap { comment in authors[comment.authorID].map { CommentBody(comment, author: $0) } }
            cursor = page.nextCursor.flatMap(PageCursor.init(encoded:))
        } while cursor != nil
        return bodies
    }

    @Sendable func export(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let segments = try await services.segments.segments(authorID: me.id)
            .filter { isReadableByAuthor($0, viewer: context.viewer) }
        let bodies = try await segmentBodies(services, segments, viewer: context.viewer)
        let mediaStore = services.mediaStore
        var exported: [ExportedSegment] = []
        var files: [(name: String, id: String, rendition: Rendition)] = []
        for (segment, body) in zip(segments, bodies) {
            let names = Rendition.renditions(of: segment.kind)
                .filter { mediaStore.storedRenditions(segmentID: segment.id).contains($0.rawValue) }
                .map { (name: "media/\(segment.id)-\($0.rawValue)", id: segment.id, rendition: $0) }
            files += names
            let comments = try await allComments(of: segment.id)
            exported.append(ExportedSegment(segment: body, files: names.map(\.name), comments: comments))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let metadata = try encoder.encode(ExportBody(
            account: AccountBody(me, includeSettings: true), exportedAt: services.clock.now().rfc3339, segments: exported))
        let filesToSend = files
        var headers = HTTPFields()
        headers[.contentType] = "application/zip"
        headers[.contentDisposition] = "attachment; filename=\"ephemera-\(me.handle)-export.zip\""
        headers[.cacheControl] = "no-store"
        let body = ResponseBody { writer in
            var zip = ZipStream()
            try await writer.write(zip.begin("stories.json"))
            try await writer.write(zip.data(metadata))
            try await writer.write(zip.end())
            for file in filesToSend {
                // A blob purged since the listing is skipped, not half-written.
                guard let (handle, header, key) = try await mediaStore.open(segmentID: file.id, rendition: file.rendition) else {
                    continue
                }
                defer { try? handle.close() }
                try await writer.write(zip.begin(file.name))
                try await ChunkedCipher.decryptAll(handle: handle, header: header, key: key.symmetricKey) { piece in
                    try await writer.write(zip.data(piece))
                }
                try await writer.write(zip.end())
            }
            try await writer.write(zip.finish())
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
