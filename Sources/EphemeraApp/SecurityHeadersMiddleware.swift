import HTTPTypes
import Hummingbird

/// Headers every response carries: no MIME sniffing, a Content-Security-Policy that allows only this site,
/// (blob: URLs are the web app's previews of a file being posted, which never leave the browser),
/// and no framing by other sites — except the embeddable player `/s/{code}/embed`, which exists to be framed.
/// On an object store, scripts (the service worker) may also fetch presigned ciphertext from the bucket's origin.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let policy: (framed: String, unframed: String)

    init(mediaOrigin: String? = nil) {
        func policy(_ ancestors: String) -> String {
            "default-src 'self'; connect-src 'self'\(mediaOrigin.map { " " + $0 } ?? ""); img-src 'self' data: blob:; "
                + "media-src 'self' blob:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; "
                + "form-action 'self'; frame-ancestors \(ancestors)"
        }
        self.policy = (policy("*"), policy("'none'"))
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response = try await next(request, context)
        apply(to: &response.headers, path: request.uri.path)
        return response
    }

    /// Sets the headers on a response to a request for `path` (also for the answers `CiphertextFastPath` writes).
    func apply(to headers: inout HTTPFields, path: String) {
        let embeddable = path.hasPrefix("/s/") && path.hasSuffix("/embed")
        headers[.xContentTypeOptions] = "nosniff"
        headers[.contentSecurityPolicy] = embeddable ? policy.framed : policy.unframed
        if !embeddable { headers[.xFrameOptions] = "DENY" }
        headers[.referrerPolicy] = "strict-origin-when-cross-origin"
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = Self("Content-Security-Policy")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}
