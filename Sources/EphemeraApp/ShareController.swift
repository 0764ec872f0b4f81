import EphemeraCore
import EphemeraUseCases
import EphemeraStore
import Foundation
import HTTPTypes
import Hummingbird

/// Sharing: `POST /api/v1/stories/{id}/shares` hands out the segment's link and counts a share; `/s/{code}` is
/// the public page of a shared segment — 404 when the caller cannot see it, 410 "no longer available" once
/// it is deleted, purged or removed by moderators.
struct ShareController {
    let services: AppServices
    let pages: WebPages

    func register(on router: Router<AppRequestContext>) {
        router.post("/api/v1/stories/:id/shares", use: share)
        router.get("/s/:code") { request, context in try await page(request, context: context, embed: false) }
        router.get("/s/:code/embed") { request, context in try await page(request, context: context, embed: true) }
    }

    struct ShareBody: Encodable {
        var shareUrl: String
    }

    @Sendable func share(_ request: Request, context: AppRequestContext) async throws -> Response {
        let code = try await services.sharing.share(segmentID: try context.parameters.require("id"),
                                                    by: try context.requireAccount(), address: context.address)
        return try jsonResponse(ShareBody(shareUrl: "\(services.publicURL)/s/\(code)"), status: .created)
    }

    /// What `share.mustache` shows: a story (its page, or with `embed` the bare player for an `<iframe>` on
    /// another site), or a refusal. The template escapes everything.
    struct SharePage: Sendable {
        struct Story: Sendable {
            var embed: Bool
            var title: String
            var description: String
            var url: String
            var embedURL: String
            var ogType: String
            var twitterCard: String
            var handle: String
            var caption: String
            var poster: String?
            var video: String?
            var photo: String?
            var altText: String?
            /// What screen readers say: the author's alt text, else the caption or whose story it is.
            var spoken: String
        }
        struct Refusal: Sendable {
            var heading: String
            var detail: String?
        }
        var title: String
        var story: Story?
        var refusal: Refusal?
    }

    func page(_ request: Request, context: AppRequestContext, embed: Bool) async throws -> Response {
        let code = try context.parameters.require("code")
        switch try await services.sharing.page(code: code, for: context.account) {
        case .refuse(let answer):
            return respond(to: answer) ?? notFound()
        case .show(let segment):
            let body = try await segmentBodies(services, [segment], viewer: context.viewer)[0]
            let title = "@\(body.author.handle) on Ephemera"
            let description = body.caption ?? "A story by \(body.author.displayName)"
            let url = services.publicURL + "/s/" + code
            let story = SharePage.Story(
                embed: embed, title: title, description: description, url: url, embedURL: url + "/embed",
                ogType: segment.kind == .video ? "video.other" : "article",
                twitterCard: segment.kind == .video ? "player" : "summary_large_image", handle: body.author.handle,
                caption: body.caption ?? "", poster: body.media.poster, video: body.media.video, photo: body.media.photo,
                altText: body.altText, spoken: body.altText ?? description)
            return pages.renderStandalone("share", data: SharePage(title: title, story: story), status: .ok,
                                          cacheable: segment.audience == .public)
        }
    }

    /// The page for a refusal, or nil to show the segment.
    func respond(to answer: ShareLinkAnswer) -> Response? {
        switch answer {
        case .show: nil
        case .notFound: notFound()
        case .gone(.deleted):
            refusal(.gone, "This story is no longer available.", "Its author deleted it.")
        case .gone(.removed):
            refusal(.gone, "This story is no longer available.", "It was removed for breaking the community's rules.")
        }
    }

    /// The same page whether the code never existed or names a story hidden from the caller.
    func notFound() -> Response {
        refusal(.notFound, "There is no story at this address.", nil)
    }

    func refusal(_ status: HTTPResponse.Status, _ heading: String, _ detail: String?) -> Response {
        pages.renderStandalone("share", data: SharePage(
            title: status == .notFound ? "Not found" : "No longer available", refusal: .init(heading: heading, detail: detail)),
            status: status, cacheable: false)
    }
}
