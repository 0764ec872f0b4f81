import EphemeraCore
import EphemeraUseCases
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /api/v1/me/export`: a zip of all my segments' media (decrypted) and `stories.json` with their
/// metadata and counts, and my highlights, streamed entry by entry.
struct ExportController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.get("/api/v1/me/export", use: export)
    }

    struct ExportBody: Encodable {
        var account: AccountBody
        var exportedAt: String
        var segments: [ExportedSegment]
        var highlights: [ExportedHighlight]
    }

    /// A highlight as its owner made it: the segments it lists, in order (some may no longer be exported).
    struct ExportedHighlight: Encodable {
        var id: String
        var title: String
        var coverSegmentId: String?
        var segmentIds: [String]
        var createdAt: String
        var updatedAt: String

        init(_ highlight: Highlight) {
            id = highlight.id
            title = highlight.title
            coverSegmentId = highlight.coverSegmentID
            segmentIds = highlight.segmentIDs
            createdAt = highlight.createdAt.rfc3339
            updatedAt = highlight.updatedAt.rfc3339
        }
    }

    struct ExportedSegment: Encodable {
        var segment: SegmentBody
        var files: [String]
        var comments: [CommentBody]
    }

    @Sendable func export(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let items = try await services.exporting.items(of: me)
        var files: [(name: String, id: String, rendition: Rendition)] = []
        var exported: [ExportedSegment] = []
        for item in items {
            let names = item.renditions.map { (name: "media/\(item.view.segment.id)-\($0.rawValue)", id: item.view.segment.id, rendition: $0) }
            files += names
            exported.append(ExportedSegment(segment: SegmentBody(item.view, viewer: context.viewer, publicURL: services.publicURL),
                                            files: names.map(\.name), comments: item.comments.map(CommentBody.init)))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let metadata = try encoder.encode(ExportBody(
            account: AccountBody(me, includeSettings: true), exportedAt: services.clock.now().rfc3339, segments: exported,
            highlights: try await services.highlighting.own(of: me).map(ExportedHighlight.init)))
        let filesToSend = files
        let media = services.media
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
                guard let blob = try await media.open(segmentID: file.id, rendition: file.rendition) else { continue }
                defer { blob.close() }
                try await writer.write(zip.begin(file.name))
                try await blob.readAll { piece in try await writer.write(zip.data(piece)) }
                try await writer.write(zip.end())
            }
            try await writer.write(zip.finish())
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
