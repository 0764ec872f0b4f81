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
        /// `<html lang>`: the page speaks the visitor's language.
        var lang: String
        var title: String
        var story: Story?
        var refusal: Refusal?
    }

    func page(_ request: Request, context: AppRequestContext, embed: Bool) async throws -> Response {
        let code = try context.parameters.require("code")
        let s = pages.strings(context)
        switch try await services.sharing.page(code: code, for: context.account) {
        case .refuse(let answer):
            return respond(to: answer, strings: s) ?? notFound(strings: s)
        case .show(let segment):
            let body = try await segmentBodies(services, [segment], viewer: context.viewer)[0]
            let title = s("share_title", ["handle": body.author.handle])
            let description = body.caption ?? s("share_description", ["name": body.author.displayName])
            let url = services.publicURL + "/s/" + code
            let story = SharePage.Story(
                embed: embed, title: title, description: description, url: url, embedURL: url + "/embed",
                ogType: segment.kind == .video ? "video.other" : "article",
                twitterCard: segment.kind == .video ? "player" : "summary_large_image", handle: body.author.handle,
                caption: body.caption ?? "", poster: body.media.poster, video: body.media.video, photo: body.media.photo,
                altText: body.altText, spoken: body.altText ?? description)
            return pages.renderStandalone("share", data: SharePage(lang: s.language.tag, title: title, story: story), status: .ok,
                                          cacheable: segment.audience == .public)
        }
    }

    /// The page for a refusal, or nil to show the segment.
    func respond(to answer: ShareLinkAnswer, strings s: Catalogue) -> Response? {
        switch answer {
        case .show: nil
        case .notFound: notFound(strings: s)
        case .gone(.deleted):
            refusal(.gone, s["share_gone"], s["share_gone_deleted"], strings: s)
        case .gone(.removed):
            refusal(.gone, s["share_gone"], s["share_gone_removed"], strings: s)
        }
    }

    /// The same page whether the code never existed or names a story hidden from the caller.
    func notFound(strings s: Catalogue) -> Response {
        refusal(.notFound, s["share_not_found"], nil, strings: s)
    }

    func refusal(_ status: HTTPResponse.Status, _ heading: String, _ detail: String?, strings s: Catalogue) -> Response {
        pages.renderStandalone("share", data: SharePage(
            lang: s.language.tag, title: s[status == .notFound ? "share_not_found_title" : "error_heading_gone"],
            refusal: .init(heading: heading, detail: detail)),
            status: status, cacheable: false)
    }
}
