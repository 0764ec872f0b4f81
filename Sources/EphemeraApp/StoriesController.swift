import EphemeraCore
import Foundation
import EphemeraStore
import Hummingbird

/// Reading stories: one segment, an author's story, the tray, For You, views and the archive.
struct StoriesController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.get("/api/v1/stories/:id", use: segment)
        router.get("/api/v1/users/:handle/story", use: story)
        router.get("/api/v1/tray", use: tray)
        router.get("/api/v1/feed/for-you", use: forYou)
        router.post("/api/v1/stories/:id/views", use: view)
        router.get("/api/v1/me/archive", use: archive)
    }

    @Sendable func segment(_ request: Request, context: AppRequestContext) async throws -> Response {
        let segment = try await readableSegment(try context.parameters.require("id"), context: context)
        var body = try await bodies([segment], viewer: context.viewer)[0]
        if segment.state == .removed, segment.authorID == context.account?.id,
           let takedown = try await services.moderation.takedown(segmentID: segment.id) {
            body.removal = RemovalBody(takedown: takedown, appeal: try await services.moderation.appeal(segmentID: segment.id))
        }
        return try jsonResponse(body)
    }

    /// The segment if the caller may read it: visible by the one visibility rule, or its author's until purged,
    /// or under review and the caller a moderator. Anything else is the same 404 as a segment that does not exist.
    func readableSegment(_ id: String, context: AppRequestContext) async throws -> Segment {
        guard let segment = try await services.segments.segment(id: id) else { throw EphemeraError.storyNotFound }
        if isReadableByAuthor(segment, viewer: context.viewer) { return segment }
        if try await isUnderReview(segment, by: context.account) { return segment }
        let relations = try await services.graph.relations(viewer: context.account?.id, author: segment.authorID)
        guard isVisible(segment, to: context.viewer, at: services.clock.now(), graph: relations) else {
            throw EphemeraError.storyNotFound
        }
        return segment
    }

    struct StoryBody: Encodable {
        var author: AuthorBody
        var segments: [SegmentBody]
        var ring: String
    }

    @Sendable func story(_ request: Request, context: AppRequestContext) async throws -> Response {
        let author = try await resolveUser(context.parameters.require("handle"), for: context, services: services)
        let segments = try await services.segments.story(
            authorID: author.id, viewer: context.account?.id, now: services.clock.now())
        let bodies = try await bodies(segments, viewer: context.viewer)
        let unseen = bodies.filter { !$0.seen }.count
        return try jsonResponse(StoryBody(
            author: AuthorBody(author), segments: bodies,
            ring: StoryRing(visibleSegments: bodies.count, unseenSegments: unseen).rawValue))
    }

    struct TrayItem: Encodable {
        var author: AuthorBody
        var ring: String
        var latestAt: String
        var segmentCount: Int
    }

    struct TrayBody: Encodable {
        var items: [TrayItem]
    }

    /// The tray, from the tray cache when nothing it depends on changed (see `TrayCache`).
    @Sendable func tray(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let cache = services.database.trayCache
        let now = services.clock.now()
        let services = self.services
        let payload = try await cache.tray(viewer: me.id, now: now) {
            let entries = try await services.segments.tray(viewer: me.id, now: now)
            let authors = try await services.accounts.accounts(ids: Set(entries.map(\.authorID)))
            let items = entries.compactMap { entry -> TrayItem? in
                guard let author = authors[entry.authorID] else { return nil }
                return TrayItem(author: AuthorBody(author), ring: entry.ring.rawValue, latestAt: entry.latestAt.rfc3339,
                                segmentCount: entry.segmentCount)
            }
            return (try jsonEncoder.encode(TrayBody(items: items)), entries.compactMap(\.firstExpiry).min() ?? now + cache.maxAge)
        }
        return jsonResponse(bytes: payload)
    }

    @Sendable func forYou(_ request: Request, context: AppRequestContext) async throws -> Response {
        let page = try PageRequest(request, cursor: false)
        let cursor = try request.uri.queryParameters["cursor"].map { text -> RankedCursor in
            guard let cursor = RankedCursor(encoded: String(text)) else { throw PageRequest.invalidCursor }
            return cursor
        }
        let result = try await services.segments.forYou(
            viewer: context.account?.id, now: services.clock.now(), limit: page.limit, after: cursor)
        return try jsonResponse(PageBody(
            items: try await bodies(result.items, viewer: context.viewer), nextCursor: result.nextCursor))
    }

    /// Moderators see any segment under review (reported, or removed), whatever its audience.
    func isUnderReview(_ segment: Segment, by account: Account?) async throws -> Bool {
        guard let account, ModerationRules.canModerate(account.role) else { return false }
        return try await services.moderation.isUnderReview(segment)
    }

    /// The segment if it is visible to the caller by the one visibility rule (no author exception), else 404.
    func visibleSegment(_ id: String, context: AppRequestContext) async throws -> Segment {
        guard let segment = try await services.segments.segment(id: id) else { throw EphemeraError.storyNotFound }
        let relations = try await services.graph.relations(viewer: context.account?.id, author: segment.authorID)
        guard isVisible(segment, to: context.viewer, at: services.clock.now(), graph: relations) else {
            throw EphemeraError.storyNotFound
        }
        return segment
    }

    @Sendable func view(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let id = try context.parameters.require("id")
        // The visibility rule as everywhere, on facts cached for this hot write path (see `VisibilityCache`).
        guard let segment = try await services.segments.segmentForView(id: id),
              isVisible(segment, to: context.viewer, at: services.clock.now(),
                        graph: try await services.graph.relationsForView(viewer: me.id, author: segment.authorID))
        else { throw EphemeraError.storyNotFound }
        try await services.segments.recordView(
            segmentID: id, viewer: me.id, counted: segment.authorID != me.id, at: services.clock.now())
        return Response(status: .noContent)
    }

    @Sendable func archive(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let page = try PageRequest(request)
        let result = try await services.segments.archive(authorID: me.id, limit: page.limit, after: page.cursor)
        return try jsonResponse(PageBody(
            items: try await bodies(result.items, viewer: context.viewer), nextCursor: result.nextCursor))
    }

    /// JSON bodies for segments, with their authors and whether the viewer has seen each.
    func bodies(_ segments: [Segment], viewer: Viewer) async throws -> [SegmentBody] {
        async let authors = services.accounts.accounts(ids: Set(segments.map(\.authorID)))
        async let seen = services.segments.seen(by: viewer.accountID, among: segments.map(\.id))
        async let liked = services.interactions.liked(by: viewer.accountID, among: segments.map(\.id))
        let (authorsByID, seenIDs, likedIDs) = try await (authors, seen, liked)
        return segments.compactMap { segment in
            guard let author = authorsByID[segment.authorID] else { return nil }
            return SegmentBody(segment, author: author, viewer: viewer, seen: seenIDs.contains(segment.id),
                               liked: likedIDs.contains(segment.id), publicURL: services.publicURL)
        }
    }
}
