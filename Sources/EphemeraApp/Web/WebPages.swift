import Crypto
import EphemeraCore
import EphemeraStore
import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// The web app's templates and static files, compiled into the binary (SwiftPM `embedInCode`), and the one
/// function that renders a page inside the layout.
struct WebPages: Sendable {
    let library: MustacheLibrary
    let assets: [String: StaticAsset]
    /// A digest of the CSS and JavaScript, in their URLs: browsers cache them for a year and still never run
    /// an old script against a new page.
    let assetVersion: String
    let secureCookies: Bool
    /// Every language's words; the pages take theirs from the request's language.
    let catalogues: Catalogues

    struct StaticAsset: Sendable {
        var bytes: ByteBuffer
        var contentType: String
        var etag: String
    }

    init(secureCookies: Bool) throws {
        var library = MustacheLibrary()
        let templates: [(String, [UInt8])] = [
            ("layout", PackageResources.layout_mustache),
            ("home", PackageResources.home_mustache),
            ("login", PackageResources.login_mustache),
            ("story", PackageResources.story_mustache),
            ("new", PackageResources.new_mustache),
            ("profile", PackageResources.profile_mustache),
            ("settings", PackageResources.settings_mustache),
            ("recently_deleted", PackageResources.recently_deleted_mustache),
            ("archive", PackageResources.archive_mustache),
            ("scheduled", PackageResources.scheduled_mustache),
            ("activity", PackageResources.activity_mustache),
            ("error", PackageResources.error_mustache),
            ("avatar", PackageResources.avatar_mustache),
            ("thumb", PackageResources.thumb_mustache),
            ("moderation", PackageResources.moderation_mustache),
            ("removed", PackageResources.removed_mustache),
            ("share", PackageResources.share_mustache),
        ]
        for (name, bytes) in templates {
            try library.register(String(decoding: bytes, as: UTF8.self), named: name)
        }
        self.library = library
        let files: [(String, [UInt8], String)] = [
            ("app.js", PackageResources.app_js, "text/javascript; charset=utf-8"),
            ("app.css", PackageResources.app_css, "text/css; charset=utf-8"),
            ("icon.svg", PackageResources.icon_svg, "image/svg+xml"),
            ("sw.js", PackageResources.sw_js, "text/javascript; charset=utf-8"),
        ]
        // app.js's words: `strings-{language}.js` sets them before app.js runs (both deferred, in order).
        let catalogues = try Catalogues()
        var scripts: [(String, [UInt8], String)] = []
        for language in Language.allCases {
            let json = try JSONSerialization.data(withJSONObject: catalogues[language].web, options: [.sortedKeys])
            let script = "window.ephemeraStrings = " + String(decoding: json, as: UTF8.self) + ";\n"
            scripts.append(("strings-\(language.tag).js", Array(script.utf8), "text/javascript; charset=utf-8"))
        }
        var assets: [String: StaticAsset] = [:]
        var digest = SHA256()
        for (name, bytes, type) in files + scripts {
            let hash = Hex.encode(SHA256.hash(data: bytes).prefix(8))
            assets[name] = StaticAsset(bytes: ByteBuffer(bytes: bytes), contentType: type, etag: "\"\(hash)\"")
            digest.update(data: bytes)
        }
        self.assets = assets
        self.assetVersion = Hex.encode(digest.finalize().prefix(6))
        self.secureCookies = secureCookies
        self.catalogues = catalogues
    }

    /// The words of the request's language.
    func strings(_ context: AppRequestContext) -> Catalogue { catalogues[context.language] }

    /// Renders `template` in the layout. A browser without a CSRF cookie gets one with the page, so every form
    /// and script on it can prove where it came from.
    func render<Data: Sendable>(
        _ template: String, title: String, page: String? = nil, chrome: Bool = true, data: Data,
        me: MeView?, context: AppRequestContext, status: HTTPResponse.Status = .ok
    ) -> Response {
        let csrf = context.csrfCookie ?? WebSession.newCSRFToken()
        let strings = strings(context)
        let shell = PageShell(title: title, page: page ?? template, csrf: csrf, me: me, asset: assetVersion,
                              chrome: chrome, lang: strings.language.tag, t: strings.web, data: data)
        var headers = HTTPFields()
        guard let html = library.render(shell, withTemplate: template) else {
            // A page whose template is not in the library is a bug; never answer it with an empty 200.
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: .internalServerError, headers: headers,
                            body: .init(byteBuffer: ByteBuffer(string: "This page could not be shown.")))
        }
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.contentLanguage] = strings.language.tag
        // The language follows Accept-Language and a cookie: a cache must not hand one person's page to another.
        headers[.vary] = "Accept-Language, Cookie"
        // Pages show private state (who is signed in, what they may see): never stored by shared caches.
        headers[.cacheControl] = "no-store"
        var response = Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
        if context.csrfCookie == nil { response.setCookie(WebSession.csrfCookie(csrf, secure: secureCookies)) }
        return response
    }

    /// A page of its own, without the app's layout or session (the share page and its embed): `cacheable`
    /// lets shared caches keep it a minute (a public story's page), otherwise nothing may store it.
    func renderStandalone<Data: Sendable>(_ template: String, data: Data, status: HTTPResponse.Status,
                                          cacheable: Bool) -> Response {
        var headers = HTTPFields()
        headers[.xContentTypeOptions] = "nosniff"
        guard let html = library.render(data, withTemplate: template) else {
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: .internalServerError, headers: headers,
                            body: .init(byteBuffer: ByteBuffer(string: "This page could not be shown.")))
        }
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = cacheable ? "public, max-age=60" : "private, no-store"
        // Said in the visitor's language: a shared cache keeps one copy per language choice.
        headers[.vary] = "Accept-Language, Cookie"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// A page for an error, in the layout, with the status of the error.
    func errorPage(_ error: EphemeraError, status: HTTPResponse.Status, me: MeView?, context: AppRequestContext)
        -> Response
    {
        struct ErrorData: Sendable {
            var status: Int
            var heading: String
            var message: String
        }
        let s = strings(context)
        let heading: String
        switch error.kind {
        case .notFound: heading = s["error_heading_not_found"]
        case .gone: heading = s["error_heading_gone"]
        case .forbidden: heading = s["error_heading_forbidden"]
        case .rateLimited: heading = s["error_heading_rate_limited"]
        case .internal, .unavailable: heading = s["error_heading_unavailable"]
        default: heading = s["error_heading_other"]
        }
        return render("error", title: heading, data: ErrorData(status: Int(status.code), heading: heading,
                                                               message: s.message(error)),
                      me: me, context: context, status: status)
    }

    /// A 303 to `location`: after a form post the browser loads the next page with GET.
    static func redirect(to location: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        return Response(status: .seeOther, headers: headers)
    }

    /// Only paths on this site, so a crafted `next=` cannot send someone elsewhere after signing in.
    static func safeReturnPath(_ path: String?) -> String { ReturnPath.safe(path) }

    /// `/static/{file}`: with the current version in the query, cached for a year; otherwise revalidated.
    func asset(_ request: Request, context: AppRequestContext) throws -> Response {
        guard let name = context.parameters.get("file"), name != "sw.js" else {
            throw EphemeraError(.notFound, "not_found", "There is nothing at this address.")
        }
        let versioned = request.uri.queryParameters["v"].map { String($0) == assetVersion } ?? false
        return try asset(named: name, request: request,
                         cacheControl: versioned ? "public, max-age=31536000, immutable" : "public, max-age=0, must-revalidate")
    }

    /// `/sw.js`, the service worker that decrypts the viewer's media: at the root, so that its scope is the whole
    /// site, and always revalidated, so that a new version reaches browsers at their next visit.
    func serviceWorker(_ request: Request) throws -> Response {
        try asset(named: "sw.js", request: request, cacheControl: "no-cache")
    }

    private func asset(named name: String, request: Request, cacheControl: String) throws -> Response {
        guard let asset = assets[name] else {
            throw EphemeraError(.notFound, "not_found", "There is nothing at this address.")
        }
        var headers = HTTPFields()
        headers[.contentType] = asset.contentType
        headers[.eTag] = asset.etag
        headers[.cacheControl] = cacheControl
        if request.headers[.ifNoneMatch] == asset.etag {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentLength] = String(asset.bytes.readableBytes)
        return Response(status: .ok, headers: headers,
                        body: request.method == .head ? .init() : .init(byteBuffer: asset.bytes))
    }
}
