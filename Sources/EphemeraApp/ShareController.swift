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

    /// The share page, or with `embed` the bare player for an `<iframe>` on another site.
    func page(_ request: Request, context: AppRequestContext, embed: Bool) async throws -> Response {
        let code = try context.parameters.require("code")
        switch try await services.sharing.page(code: code, for: context.account) {
        case .refuse(let answer):
            return respond(to: answer) ?? notFound()
        case .show(let segment):
            let body = try await segmentBodies(services, [segment], viewer: context.viewer)[0]
            let title = "@\(body.author.handle) on Ephemera"
            let description = body.caption ?? "A story by \(body.author.displayName)"
            var meta = """
                <meta property="og:type" content="\(segment.kind == .video ? "video.other" : "article")">
                <meta property="og:title" content="\(escape(title))">
                <meta property="og:description" content="\(escape(description))">
                <meta property="og:url" content="\(escape(services.publicURL + "/s/" + code))">
                <meta name="twitter:card" content="\(segment.kind == .video ? "player" : "summary_large_image")">
                <meta name="twitter:title" content="\(escape(title))">
                """
            if let poster = body.media.poster {
                meta += "\n<meta property=\"og:image\" content=\"\(escape(poster))\">"
            }
            // What screen readers say: the author's alt text, else the caption or whose story it is.
            let spoken = body.altText ?? description
            if let altText = body.altText {
                meta += "\n<meta property=\"og:image:alt\" content=\"\(escape(altText))\">"
            }
            var player = ""
            if let video = body.media.video {
                meta += "\n<meta property=\"og:video\" content=\"\(escape(video))\">"
                player = "<video src=\"\(escape(video))\" poster=\"\(escape(body.media.poster ?? ""))\" aria-label=\"\(escape(spoken))\" controls playsinline muted autoplay></video>"
            } else if let photo = body.media.photo {
                player = "<img src=\"\(escape(photo))\" alt=\"\(escape(spoken))\">"
            }
            if embed {
                // Bare, for an <iframe>; still a page a screen reader can name and enter.
                return html(.ok, title: title, body: "<main><h1 class=\"sr\">\(escape(title))</h1>\(player)</main>",
                            cacheable: segment.audience == .public)
            }
            meta += "\n<meta name=\"twitter:player\" content=\"\(escape(services.publicURL + "/s/" + code + "/embed"))\">"
            return html(.ok, title: title, head: meta, body: """
                <main><h1>@\(escape(body.author.handle))</h1>\(player)<p>\(escape(body.caption ?? ""))</p></main>
                """, cacheable: segment.audience == .public)
        }
    }

    /// The page for a refusal, or nil to show the segment.
    func respond(to answer: ShareLinkAnswer) -> Response? {
        switch answer {
        case .show: nil
        case .notFound: notFound()
        case .gone(.deleted):
            html(.gone, title: "No longer available", body: "<h1>This story is no longer available.</h1><p>Its author deleted it.</p>")
        case .gone(.removed):
            html(.gone, title: "No longer available", body:
                "<h1>This story is no longer available.</h1><p>It was removed for breaking the community's rules.</p>")
        }
    }

    /// The same page whether the code never existed or names a story hidden from the caller.
    func notFound() -> Response {
        html(.notFound, title: "Not found", body: "<h1>There is no story at this address.</h1>")
    }

    func html(_ status: HTTPResponse.Status, title: String, head: String = "", body: String, cacheable: Bool = false)
        -> Response
    {
        let page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            \(head)
            <style>body{margin:0;font:16px system-ui,sans-serif;background:#111;color:#eee;text-align:center}
            main{max-width:480px;margin:0 auto;padding:16px}video,img{width:100%;border-radius:12px}
            h1{font-size:1rem;font-weight:600}.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}</style>
            </head><body>\(body)</body></html>
            """
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = cacheable ? "public, max-age=60" : "private, no-store"
        headers[.xContentTypeOptions] = "nosniff"
        return Response(status: status, headers: headers, body: .init(byteBuffer: .init(string: page)))
    }
}

/// Escapes text for HTML content and attribute values.
func escape(_ text: String) -> String {
    var out = ""
    for ch in text {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(ch)
        }
    }
    return out
}
