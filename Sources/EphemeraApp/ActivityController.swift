import EphemeraCore
import EphemeraStore
import Hummingbird

/// `GET /api/v1/me/activity` (likes, comments and shares of my stories, new followers; with the unread
/// count) and `POST /api/v1/me/activity/read`.
struct ActivityController {
    let services: AppServices
    let activity: SQLActivityStore

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
        let me = try context.requireAccount()
        let page = try PageRequest(request)
        async let result = activity.activity(for: me.id, limit: page.limit, after: page.cursor)
        async let unread = activity.unreadCount(for: me.id)
        async let seenAt = activity.seenAt(for: me.id)
        let (items, unreadCount, seen) = try await (result, unread, seenAt)
        let actors = try await services.accounts.accounts(ids: Set(items.items.map(\.actorID)))
        let bodies = items.items.compactMap { item -> ItemBody? in
            guard let actor = actors[item.actorID] else { return nil }
            return ItemBody(id: item.id, kind: item.kind.rawValue, actor: AuthorBody(actor), segmentId: item.segmentID,
                            text: item.text, createdAt: item.createdAt.rfc3339,
                            read: seen.map { item.createdAt <= $0 } ?? false)
        }
        return try jsonResponse(ActivityBody(items: bodies, nextCursor: items.nextCursor, unreadCount: unreadCount))
    }

    @Sendable func markRead(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        try await activity.markRead(for: me.id, at: services.clock.now())
        return Response(status: .noContent)
    }
}
