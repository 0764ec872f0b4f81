import EphemeraCore
import EphemeraUseCases
import Foundation
import EphemeraStore
import Hummingbird

/// Reading stories: one segment, an author's story, the tray, For You, views and the archive.
struct StoriesController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.get("/api/v1/stories/:id", use: segment)
        router.patch("/api/v1/stories/:id", use: edit)
        router.get("/api/v1/users/:handle/story", use: story)
        router.get("/api/v1/tray", use: tray)
        router.get("/api/v1/feed/for-you", use: forYou)
        router.post("/api/v1/stories/:id/views", use: view)
        router.get("/api/v1/me/archive", use: archive)
        router.get("/api/v1/me/on-this-day", use: onThisDay)
        router.get("/api/v1/me/scheduled", use: scheduled)
    }

    /// My segments waiting for their `publishAt`, soonest first.
    @Sendable func scheduled(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let list = try await services.reading.scheduled(of: me)
        return try jsonResponse(SegmentsBody(items: try await segmentBodies(services, list, viewer: context.viewer)))
    }

    struct SegmentsBody: Encodable {
        var items: [SegmentBody]
    }

    @Sendable func segment(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let wait = try ProcessingWait.seconds(request.uri.queryParameters["wait"].map(String.init))
        // The generation first, then the read: a change made in between ends a wait at once.
        let signal = services.segmentsProcessed
        var generation = signal.generation
        var segment = try await services.reading.readableSegment(id, by: context.account)
        if let wait {
            // Held until it leaves processing: woken by this node's worker, and read again each second for a
            // segment another node processes.
            let deadline = ContinuousClock.now + .seconds(wait)
            while segment.state == .processing, ContinuousClock.now < deadline, !Task.isCancelled {
                await signal.wait(after: generation, timeout: min(.seconds(1), deadline - ContinuousClock.now))
                generation = signal.generation
                segment = try await services.reading.readableSegment(id, by: context.account)
            }
        }
        var body = try await segmentBodies(services, [segment], viewer: context.viewer)[0]
        if let removal = try await services.moderating.removal(of: segment, for: context.account) {
            body.removal = RemovalBody(takedown: removal.takedown, appeal: removal.appeal)
        }
        return try jsonResponse(body)
    }

    /// `PATCH /api/v1/stories/{id}`: any of these; an empty caption or alt text removes it.
    struct EditBody: Decodable {
        var caption: String?
        var altText: String?
        var audience: String?
        var allowComments: Bool?
        var allowDownloads: Bool?
    }

    @Sendable func edit(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let body = try await decodeJSON(EditBody.self, from: request, context: context)
        let edit = try SegmentEdit(caption: body.caption, altText: body.altText, audience: body.audience,
                                   allowComments: body.allowComments, allowDownloads: body.allowDownloads)
        let segment = try await services.posting.edit(segmentID: try context.parameters.require("id"), by: me, edit)
        return try jsonResponse(try await segmentBodies(services, [segment], viewer: context.viewer)[0])
    }

    struct StoryBody: Encodable {
        var author: AuthorBody
        var segments: [SegmentBody]
        var ring: String
    }

    @Sendable func story(_ request: Request, context: AppRequestContext) async throws -> Response {
        let author = try await services.reading.user(handle: context.parameters.require("handle"), for: context.account)
        let bodies = try await services.reading.story(of: author, for: context.account).map {
            SegmentBody($0, viewer: context.viewer, publicURL: services.publicURL)
        }
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
            let tray = try await services.reading.tray(for: me)
            let items = tray.map { entry, author in
                TrayItem(author: AuthorBody(author), ring: entry.ring.rawValue, latestAt: entry.latestAt.rfc3339,
                         segmentCount: entry.segmentCount)
            }
            // Good until a segment in it expires or a scheduled one goes live.
            let changes = tray.compactMap(\.entry.firstExpiry) + [try await services.reading.nextScheduledPublish(for: me)].compactMap { $0 }
            return (try jsonEncoder.encode(TrayBody(items: items)), changes.min() ?? now + cache.maxAge)
        }
        return jsonResponse(bytes: payload)
    }

    @Sendable func forYou(_ request: Request, context: AppRequestContext) async throws -> Response {
        let page = try PageRequest(request, cursor: false)
        let cursor = try request.uri.queryParameters["cursor"].map { text -> RankedCursor in
            guard let cursor = RankedCursor(encoded: String(text)) else { throw PageRequest.invalidCursor }
            return cursor
        }
        let result = try await services.reading.forYou(for: context.account, limit: page.limit, after: cursor)
        return try jsonResponse(PageBody(
            items: result.items.map { SegmentBody($0, viewer: context.viewer, publicURL: services.publicURL) },
            nextCursor: result.nextCursor))
    }

    @Sendable func view(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        try await services.reading.recordView(segmentID: try context.parameters.require("id"), by: me)
        return Response(status: .noContent)
    }

    @Sendable func archive(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        if let day = request.uri.queryParameters["day"].map(String.init) {
            // One day of it, whole (a day holds what one person posted in a day).
            let items = try await services.reading.archive(of: me, day: day)
            return try jsonResponse(PageBody(items: items.map { SegmentBody($0, viewer: context.viewer, publicURL: services.publicURL) },
                                             nextCursor: nil))
        }
        let page = try PageRequest(request)
        let result = try await services.reading.archive(of: me, limit: page.limit, after: page.cursor)
        return try jsonResponse(PageBody(
            items: result.items.map { SegmentBody($0, viewer: context.viewer, publicURL: services.publicURL) },
            nextCursor: result.nextCursor))
    }

    struct OnThisDayBody: Encodable {
        struct Item: Encodable {
            var yearsAgo: Int
            var date: String
            var segments: [SegmentBody]
        }
        var items: [Item]
    }

    /// `GET /api/v1/me/on-this-day`: my archived segments from today's date in earlier years.
    @Sendable func onThisDay(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let items = try await services.reading.onThisDay(of: me).map { entry in
            OnThisDayBody.Item(yearsAgo: entry.yearsAgo, date: entry.day, segments: entry.segments.map {
                SegmentBody($0, viewer: context.viewer, publicURL: services.publicURL)
            })
        }
        return try jsonResponse(OnThisDayBody(items: items))
    }
}
