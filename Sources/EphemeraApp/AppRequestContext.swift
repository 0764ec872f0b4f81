import EphemeraCore
import Hummingbird
import Logging
import Synchronization

/// The request context: Hummingbird's core storage plus the signed-in account, if any.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The account of the bearer token, set by `AuthMiddleware`.
    public var account: Account?
    /// The SHA-256 of the bearer token, to end the session on logout.
    public var tokenHash: String?

    /// Whether the session came from the web app's cookie rather than a bearer token (unsafe requests then
    /// need the CSRF token).
    public var sessionFromCookie = false
    /// The CSRF token of the browser's `ephemera_csrf` cookie, if it sent one.
    public var csrfCookie: String?

    /// The peer's IP address (rate limits per address).
    public var address: String?

    /// The language of this request's pages and error messages (API.md "Languages"). Shared by reference, so that
    /// the error middleware, which runs outside the one that finds the account, says its errors in the
    /// account's language too.
    let languageSlot = LanguageSlot()
    public var language: Language { languageSlot.language }
    /// The signed-out visitor's choice (the `ephemera_lang` cookie), if any.
    public var cookieLanguage: Language?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.address = source.channel.remoteAddress?.ipAddress
    }

    /// JSON bodies are small; uploads stream and are limited by their own handler.
    public var maxUploadSize: Int { 64 * 1024 }

    public var viewer: Viewer { Viewer(accountID: account?.id) }

    /// The signed-in account, or a 401.
    public func requireAccount() throws -> Account {
        guard let account else { throw EphemeraError.unauthenticated }
        return account
    }
}

/// The language chosen for one request: set from the cookie and `Accept-Language` first, then from the
/// account's setting once the session is known.
final class LanguageSlot: Sendable {
    private let value = Mutex(Language.fallback)
    var language: Language {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
