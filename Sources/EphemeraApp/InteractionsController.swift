import EphemeraCore
import EphemeraUseCases
import EphemeraStore
import Hummingbird

/// Likes, quick reactions, private replies, comments and the viewer list of a segment.
struct InteractionsController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.put("/api/v1/stories/:id/like") { _, context in try await like(context, on: true) }
        router.delete("/api/v1/stories/:id/like") { _, context in try await like(context, on: false) }
        router.get("/api/v1/stories/:id/comments", use: comments)
        router.post("/api/v1/stories/:id/comments", use: addComment)
        router.delete("/api/v1/comments/:id", use: deleteComment)
        router.get("/api/v1/stories/:id/viewers", use: viewers)
        router.put("/api/v1/stories/:id/reaction", use: react)
        router.delete("/api/v1/stories/:id/reaction") { _, context in
            try await services.interacting.react(nil, segmentID: try context.parameters.require("id"),
                                                 by: try context.requireAccount(), address: context.address)
            return Response(status: .noContent)
        }
        router.get("/api/v1/stories/:id/reactions", use: reactions)
        router.post("/api/v1/stories/:id/replies", use: addReply)
        router.get("/api/v1/stories/:id/replies", use: replies)
        router.post("/api/v1/stories/:id/navigation", use: navigation)
        router.get("/api/v1/stories/:id/insights", use: insights)
    }

    /// `{event}`, or `{events:[…]}` for what a client gathered since its last report.
    struct NavigationReport: Decodable {
        var event: String?
        var events: [String]?
    }

    @Sendable func navigation(_ request: Request, context: AppRequestContext) async throws -> Response {
        let report = try await decodeJSON(NavigationReport.self, from: request, context: context)
        try await services.interacting.reportNavigation((report.event.map { [$0] } ?? []) + (report.events ?? []),
                                                        segmentID: try context.parameters.require("id"),
                                                        by: context.account, address: context.address)
        return Response(status: .noContent)
    }

    struct InsightsBody: Encodable {
        var impressions: Int
        var reach: Int
        var completionRate: Double
        var tapsForward: Int
        var tapsBack: Int
        var exits: Int
        var replies: Int
        var reactions: Int
        var shares: Int
        var downloads: Int
        /// Distinct viewers by hour since it went live (the chart of views over its life).
        var viewsByHour: [Int]
    }

    @Sendable func insights(_ request: Request, context: AppRequestContext) async throws -> Response {
        let insights = try await services.interacting.insights(segmentID: try context.parameters.require("id"),
                                                               by: try context.requireAccount())
        return try jsonResponse(InsightsBody(
            impressions: insights.impressions, reach: insights.reach,
            completionRate: (insights.completionRate * 1000).rounded() / 1000, tapsForward: insights.tapsForward,
            tapsBack: insights.tapsBack, exits: insights.exits, replies: insights.replies, reactions: insights.reactions,
            shares: insights.shares, downloads: insights.downloads, viewsByHour: insights.viewsByHour))
    }

    struct NewReaction: Decodable {
        var emoji: String
    }

    @Sendable func react(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let body = try await decodeJSON(NewReaction.self, from: request, context: context)
        try await services.interacting.react(body.emoji, segmentID: try context.parameters.require("id"), by: me,
                                             address: context.address)
        return Response(status: .noContent)
    }

    struct ReactionsBody: Encodable {
        struct Recent: Encodable {
            var account: AuthorBody
            var emoji: String
        }
        var counts: [String: Int]
        var recent: [Recent]
    }

    /// The author's view of the reactions: counts by emoji, and who reacted among viewers with view history on.
    @Sendable func reactions(_ request: Request, context: AppRequestContext) async throws -> Response {
        let summary = try await services.interacting.reactions(segmentID: try context.parameters.require("id"),
                                                               by: try context.requireAccount())
        return try jsonResponse(ReactionsBody(
            counts: summary.counts,
            recent: summary.recent.map { ReactionsBody.Recent(account: AuthorBody($0.account), emoji: $0.emoji) }))
    }

    @Sendable func addReply(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let body = try await decodeJSON(NewComment.self, from: request, context: context)
        let reply = try await services.interacting.reply(body.text, segmentID: try context.parameters.require("id"), by: me,
                                                         address: context.address)
        return try jsonResponse(ReplyBody(reply), status: .created)
    }

    @Sendable func replies(_ request: Request, context: AppRequestContext) async throws -> Response {
        let page = try PageRequest(request)
        let result = try await services.interacting.replies(segmentID: try context.parameters.require("id"),
                                                            by: try context.requireAccount(), limit: page.limit,
                                                            after: page.cursor)
        return try jsonResponse(PageBody(items: result.items.map(ReplyBody.init), nextCursor: result.nextCursor))
    }

    func like(_ context: AppRequestContext, on: Bool) async throws -> Response {
        try await services.interacting.setLike(on, segmentID: try context.parameters.require("id"),
                                               by: try context.requireAccount(), address: context.address)
        return Response(status: .noContent)
    }

    @Sendable func comments(_ request: Request, context: AppRequestContext) async throws -> Response {
        let page = try PageRequest(request)
        let result = try await services.interacting.comments(segmentID: try context.parameters.require("id"),
                                                             by: context.account, limit: page.limit, after: page.cursor)
        return try jsonResponse(PageBody(items: result.items.map(CommentBody.init), nextCursor: result.nextCursor))
    }

    struct NewComment: Decodable {
        var text: String
    }

    @Sendable func addComment(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let id = try context.parameters.require("id")
        let body = try await decodeJSON(NewComment.self, from: request, context: context)
        let comment = try await services.interacting.addComment(body.text, segmentID: id, by: me, address: context.address)
        return try jsonResponse(CommentBody(comment), status: .created)
    }

    @Sendable func deleteComment(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.interacting.deleteComment(id: try context.parameters.require("id"), by: try context.requireAccount())
        return Response(status: .noContent)
    }

    struct ViewersBody: Encodable {
        struct Viewer: Encodable {
            var account: AuthorBody
            var viewedAt: String
        }
        var count: Int
        var viewers: [Viewer]
        var anonymousCount: Int
    }

    /// The author's viewer list: everyone is counted; only viewers who enabled view history are named.
    @Sendable func viewers(_ request: Request, context: AppRequestContext) async throws -> Response {
        let list = try await services.interacting.viewers(segmentID: try context.parameters.require("id"),
                                                          by: try context.requireAccount())
        return try jsonResponse(ViewersBody(
            count: list.count,
            viewers: list.named.map { ViewersBody.Viewer(account: AuthorBody($0.account), viewedAt: $0.viewedAt.rfc3339) },
            anonymousCount: list.anonymousCount))
    }
}
