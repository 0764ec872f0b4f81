import EphemeraCore
import EphemeraUseCases
import Hummingbird

/// `GET /api/v1/me/activity` (likes, comments and shares of my stories, new followers; with the unread
/// count) and `POST /api/v1/me/activity/read`.
struct ActivityController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.get("/api/v1/me/activity", use: list)
        router.post("/api/v1/me/activity/read", use: markRead)
    }

    struct ItemBody: Encodable {
        var id: String
        var kind: String
        var actor: AuthorBody
        var segmentId: String?
        var text: String?
        var createdAt: String
        var read: Bool
    }

    struct ActivityBody: Encodable {
        var items: [ItemBody]
        var nextCursor: String?
        var unreadCount: Int

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(items, forKey: .items)
            try container.encode(nextCursor, forKey: .nextCursor)
            try container.encode(unreadCount, forKey: .unreadCount)
        }

        enum CodingKeys: String, CodingKey { case items, nextCursor, unreadCount }
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let page = try PageRequest(request)
        let result = try await services.inbox.page(for: try context.requireAccount(), limit: page.limit, after: page.cursor)
        let bodies = result.items.map { entry in
            ItemBody(id: entry.item.id, kind: entry.item.kind.rawValue, actor: AuthorBody(entry.actor),
                     segmentId: entry.item.segmentID, text: entry.item.text, createdAt: entry.item.createdAt.rfc3339,
                     read: entry.read)
        }
        return try jsonResponse(ActivityBody(items: bodies, nextCursor: result.nextCursor, unreadCount: result.unreadCount))
    }

    @Sendable func markRead(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.inbox.markRead(for: try context.requireAccount())
        return Response(status: .noContent)
    }
}
