import EphemeraCore
import EphemeraStore
import HTTPTypes
import Hummingbird
import NIOCore

/// Resolves the caller's session: `Authorization: Bearer <token>` for API clients, or the web app's HttpOnly
/// `ephemera_session` cookie holding the same kind of token. A bearer token that matches no session is a 401,
/// so a client learns its session ended instead of seeing less; a stale cookie just leaves the browser
/// signed out.
///
/// Cookies travel with requests other sites make, so every unsafe request that rides on a cookie — or posts
/// a form, like sign-in — must prove it came from our own pages: the `X-CSRF-Token` header (JavaScript) or
/// the `_csrf` form field equal to the `ephemera_csrf` cookie (the double-submit pattern), on top of
/// SameSite=Lax. Bearer requests carry no ambient credential and need no token.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let accounts: SQLAccountStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        var request = request
        let cookies = request.cookies
        context.csrfCookie = cookies[WebSession.csrfCookie]?.value
        context.cookieLanguage = cookies[WebSession.languageCookie].flatMap { Language(rawValue: $0.value) }
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
                throw EphemeraError(.unauthorized, "invalid_token", "Send the token as 'Authorization: Bearer <token>'.")
            }
            let hash = IDs.hash(token: String(parts[1]))
            guard let account = try await accounts.account(sessionTokenHash: hash) else {
                throw EphemeraError(.unauthorized, "invalid_token",
                                    "This session token is not valid (signed out or expired). Sign in again.")
            }
            context.account = account
            context.tokenHash = hash
            if let language = account.settings.language { context.languageSlot.language = language }
            return try await next(request, context)
        }
        if let token = cookies[WebSession.sessionCookie]?.value, !token.isEmpty {
            let hash = IDs.hash(token: token)
            if let account = try await accounts.account(sessionTokenHash: hash) {
                context.account = account
                context.tokenHash = hash
                context.sessionFromCookie = true
                if let language = account.settings.language { context.languageSlot.language = language }
            }
        }
        let unsafe = ![.get, .head, .options].contains(request.method)
        let isForm = request.headers[.contentType]?.lowercased().hasPrefix(WebSession.formContentType) == true
        if unsafe && (context.sessionFromCookie || isForm) {
            var submitted = request.headers[.csrfToken]
            if submitted == nil && isForm {
                // Read the (small) form once to find `_csrf`, then hand the same bytes on to the handler.
                let buffer = try await request.body.collect(upTo: context.maxUploadSize)
                request.body = .init(buffer: buffer)
                submitted = FormFields(String(buffer: buffer))["_csrf"]
            }
            guard let expected = context.csrfCookie, let submitted, WebSession.matches(submitted, expected) else {
                throw EphemeraError(.forbidden, "csrf_failed",
                                    "This page has expired or the request did not come from Ephemera. Reload the page and try again.")
            }
        }
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let csrfToken = Self("X-CSRF-Token")!
}
