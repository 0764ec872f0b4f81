import EphemeraCore
import EphemeraUseCases
import EphemeraStore
import Hummingbird

/// Likes, comments and the viewer list of a segment.
struct InteractionsController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.put("/api/v1/stories/:id/like") { _, context in try await like(context, on: true) }
        router.delete("/api/v1/stories/:id/like") { _, context in try await like(context, on: false) }
        router.get("/api/v1/stories/:id/comments", use: comments)
        router.post("/api/v1/stories/:id/comments", use: addComment)
        router.delete("/api/v1/comments/:id", use: deleteComment)
        router.get("/api/v1/stories/:id/viewers", use: viewers)
    }

    func like(_ context: AppRequestContext, on: Bool) async throws -> Response {
        let me = try context.requireAccount()
        try services.rateLimiter.check(.like, account: me.id, address: context.address)
        let segment = try await services.reading.visibleSegment(try context.parameters.require("id"), by: context.account)
        if on {
            try await services.interactions.like(segmentID: segment.id, accountID: me.id, at: services.clock.now())
        } else {
            try await services.interactions.unlike(segmentID: segment.id, accountID: me.id)
        }
        return Response(status: .noContent)
    }

    @Sendable func comments(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        // The author reads the comments of their own segment in any state; everyone else needs it visible.
        let segment = try await services.reading.readableSegment(id, by: context.account)
        let page = try PageRequest(request)
        let result = try await services.interactions.comments(segmentID: segment.id, limit: page.limit, after: page.cursor)
        let authors = try await services.accounts.accounts(ids: Set(result.items.map(\.authorID)))
        let items = result.items.compactMap { comment in authors[comment.authorID].map { CommentBody(comment, author: $0) } }
        return try jsonResponse(PageBody(items: items, nextCursor: result.nextCursor))
    }

    struct NewComment: Decodable {
        var text: String
    }

    @Sendable func addComment(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        try services.rateLimiter.check(.comment, account: me.id, address: context.address)
        let segment = try await services.reading.visibleSegment(try context.parameters.require("id"), by: context.account)
        let body = try await decodeJSON(NewComment.self, from: request, context: context)
        guard let author = try await services.accounts.account(id: segment.authorID) else { throw EphemeraError.storyNotFound }
        guard author.settings.allowComments else {
            throw EphemeraError(.forbidden, "comments_disabled", "@\(author.handle) has turned comments off.")
        }
        let comment = Comment(id: IDs.make(), segmentID: segment.id, authorID: me.id,
                              text: try Comment.validatedText(body.text), createdAt: services.clock.now())
        try await services.interactions.addComment(comment)
        return try jsonResponse(CommentBody(comment, author: me), status: .created)
    }

    @Sendable func deleteComment(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let notFound = EphemeraError(.notFound, "comment_not_found", "There is no such comment, or you cannot see it.")
        guard let comment = try await services.interactions.comment(id: try context.parameters.require("id")),
              let segment = try await services.segments.segment(id: comment.segmentID) else { throw notFound }
        guard Comment.mayDelete(comment, storyAuthorID: segment.authorID, by: me.id) else {
            // Someone who can see the comment learns why; anyone else learns nothing.
            _ = try await services.reading.visibleSegment(segment.id, by: context.account)
            throw EphemeraError(.forbidden, "not_allowed", "Only the comment's author or the story's author can delete it.")
        }
        try await services.interactions.deleteComment(id: comment.id)
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
        let me = try context.requireAccount()
        guard let segment = try await services.segments.segment(id: try context.parameters.require("id")),
              isReadableByAuthor(segment, viewer: context.viewer) else { throw EphemeraError.storyNotFound }
        let all = try await services.interactions.viewers(segmentID: segment.id, authorID: me.id)
        let named = all.filter(\.sharesHistory)
        let accounts = try await services.accounts.accounts(ids: Set(named.map(\.accountID)))
        let viewers = named.compactMap { entry in
            accounts[entry.accountID].map { ViewersBody.Viewer(account: AuthorBody($0), viewedAt: entry.viewedAt.rfc3339) }
        }
        return try jsonResponse(ViewersBody(count: all.count, viewers: viewers, anonymousCount: all.count - viewers.count))
    }
}
