import EphemeraCore
import EphemeraUseCases
import Hummingbird

/// Highlights (API.md, "Highlights"): made, renamed, reordered and deleted by their owner; read by whoever sees
/// at least one of their segments, through the highlight.
struct HighlightsController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.post("/api/v1/me/highlights", use: create)
        router.put("/api/v1/me/highlights/order", use: reorder)
        router.get("/api/v1/users/:handle/highlights", use: list)
        router.get("/api/v1/highlights/:id", use: read)
        router.patch("/api/v1/highlights/:id", use: update)
        router.delete("/api/v1/highlights/:id") { _, context in
            try await services.highlighting.delete(try context.parameters.require("id"), by: try context.requireAccount())
            return Response(status: .noContent)
        }
    }

    struct NewHighlight: Decodable {
        var title: String
        var segmentIds: [String]
        var coverSegmentId: String?
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let body = try await decodeJSON(NewHighlight.self, from: request, context: context)
        let view = try await services.highlighting.create(title: body.title, segmentIDs: body.segmentIds,
                                                          cover: body.coverSegmentId, by: me)
        return try jsonResponse(HighlightBody(view, viewer: context.viewer, publicURL: services.publicURL), status: .created)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try await resolveUser(context.parameters.require("handle"), for: context, services: services)
        let items = try await services.highlighting.list(of: user, for: context.account).map {
            HighlightBody($0, publicURL: services.publicURL)
        }
        return try jsonResponse(ItemsBody(items: items))
    }

    @Sendable func read(_ request: Request, context: AppRequestContext) async throws -> Response {
        let view = try await services.highlighting.read(try context.parameters.require("id"), by: context.account)
        return try jsonResponse(HighlightBody(view, viewer: context.viewer, publicURL: services.publicURL))
    }

    /// `PATCH`: any of these; `coverSegmentId: null` puts the first segment back as the cover.
    struct Changes: Decodable {
        var title: String?
        var segmentIds: [String]?
        var coverSegmentId: String??

        enum CodingKeys: String, CodingKey { case title, segmentIds, coverSegmentId }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            title = try container.decodeIfPresent(String.self, forKey: .title)
            segmentIds = try container.decodeIfPresent([String].self, forKey: .segmentIds)
            if container.contains(.coverSegmentId) {
                coverSegmentId = .some(try container.decodeNil(forKey: .coverSegmentId)
                    ? nil : try container.decode(String.self, forKey: .coverSegmentId))
            }
        }
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let id = try context.parameters.require("id")
        let body = try await decodeJSON(Changes.self, from: request, context: context)
        let view = try await services.highlighting.update(id, title: body.title, segmentIDs: body.segmentIds,
                                                          cover: body.coverSegmentId, by: me)
        return try jsonResponse(HighlightBody(view, viewer: context.viewer, publicURL: services.publicURL))
    }

    struct Order: Decodable {
        var ids: [String]
    }

    @Sendable func reorder(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let body = try await decodeJSON(Order.self, from: request, context: context)
        try await services.highlighting.reorder(body.ids, by: me)
        return Response(status: .noContent)
    }
}

struct ItemsBody<Item: Encodable>: Encodable {
    var items: [Item]
}

/// `highlight`: `{id, title, cover{poster}, segmentCount, updatedAt}`, with `segments` when opened. Media of its
/// segments is fetched through the highlight (`?highlight=`), which is what lets its audience read a segment past
/// its expiry.
struct HighlightBody: Encodable {
    struct Cover: Encodable {
        var poster: String?
    }
    var id: String
    var title: String
    var cover: Cover
    var segmentCount: Int
    var updatedAt: String
    var segments: [SegmentBody]?

    init(_ summary: HighlightSummary, publicURL: String) {
        let id = summary.highlight.id
        self.id = id
        title = summary.highlight.title
        cover = Cover(poster: summary.cover.flatMap(posterPath).map { publicURL + Self.through($0, id) })
        segmentCount = summary.segmentCount
        updatedAt = summary.highlight.updatedAt.rfc3339
    }

    init(_ view: HighlightView, viewer: Viewer, publicURL: String) {
        self.init(view.summary, publicURL: publicURL)
        let id = id
        segments = view.segments.map {
            var body = SegmentBody($0, viewer: viewer, publicURL: publicURL)
            body.media = SegmentBody.Media(poster: body.media.poster.map { Self.through($0, id) },
                                           video: body.media.video.map { Self.through($0, id) },
                                           photo: body.media.photo.map { Self.through($0, id) })
            return body
        }
    }

    /// A media URL fetched through highlight `id`.
    static func through(_ url: String, _ id: String) -> String { url + "?highlight=" + id }
}
