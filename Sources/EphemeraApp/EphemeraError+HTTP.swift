import EphemeraCore
import EphemeraStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The one place errors become HTTP: status codes for `EphemeraError.Kind`, and the JSON error body
/// `{"error": {"code", "message"}}` of API.md for everything, including Hummingbird's own errors — except
/// for a browser asking for a web page, which gets the same message as an HTML page (or, when it needs to
/// sign in, a redirect to the sign-in page).
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let pages: WebPages

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let error: EphemeraError
        // The language from the cookie and Accept-Language; AuthMiddleware refines it with the account's setting.
        context.languageSlot.language = Language.chosen(
            setting: nil, cookie: request.cookies[WebSession.languageCookie]?.value,
            acceptLanguage: request.headers[.acceptLanguage])
        do {
            return try await next(request, context)
        } catch let required as LoginRequired {
            return WebPages.redirect(to: "/login?next=" + (required.returnTo.addingPercentEncoding(
                withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "/-_.~@"))) ?? "/"))
        } catch let caught as EphemeraError {
            if caught.kind == .internal { context.logger.error("Internal error: \(caught)") }
            error = caught
        } catch let unavailable as MediaStoreUnavailable {
            context.logger.error("Media store unavailable", metadata: ["error": "\(unavailable.detail)"])
            error = .mediaStoreUnavailable
        } catch let caught as HTTPError {
            error = Self.translate(caught)
        } catch is DecodingError {
            error = .badRequest("malformed_json", "The request body is not the JSON this endpoint expects.")
        } catch let down where Database.isUnavailable(down) {
            context.logger.warning("Database unavailable", metadata: ["error": "\(String(reflecting: down))"])
            error = .databaseUnavailable
        } catch let full where Self.isOutOfSpace(full) {
            // A full disk anywhere a request writes (a tus part, the database, a key): 507, never a 500.
            context.logger.error("Out of disk space", metadata: ["error": "\(String(reflecting: full))"])
            error = StorageRules.storageFull
        } catch {
            context.logger.error("Unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return Self.response(for: EphemeraError(
                .internal, "internal_error", "Something went wrong on our side. Try again in a moment."),
                catalogue: pages.catalogues[context.language])
        }
        if Self.wantsPage(request) {
            let me = context.account.map { MeView($0, unread: 0) }
            var response = pages.errorPage(error, status: Self.status(for: error.kind), me: me, context: context)
            if let seconds = error.retryAfterSeconds { response.headers[.retryAfter] = String(seconds) }
            return response
        }
        return Self.response(for: error, catalogue: pages.catalogues[context.language])
    }

    /// Whether `error` says the disk is full, however it was wrapped on the way (the system's ENOSPC and EDQUOT
    /// sentences, SQLite's SQLITE_FULL).
    static func isOutOfSpace(_ error: any Error) -> Bool {
        if let posix = error as? POSIXError, posix.code == .ENOSPC || posix.code == .EDQUOT { return true }
        let text = String(reflecting: error)
        return ["No space left on device", "Disk quota exceeded", "database or disk is full"].contains { text.contains($0) }
    }

    /// A browser navigating to a page (not the API, media or a script's fetch).
    static func wantsPage(_ request: Request) -> Bool {
        let path = request.uri.path
        guard !path.hasPrefix("/api/"), !path.hasPrefix("/media/"), !path.hasPrefix("/static/"),
              path != "/healthz", path != "/readyz" else { return false }
        return request.headers[.accept]?.contains("text/html") == true
    }

    static func status(for kind: EphemeraError.Kind) -> HTTPResponse.Status {
        switch kind {
        case .badRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .gone: .gone
        case .tooLarge: .contentTooLarge
        case .unsupportedMedia: .unsupportedMediaType
        case .unprocessable: .unprocessableContent
        case .rateLimited: .tooManyRequests
        case .unavailable: .serviceUnavailable
        case .internal: .internalServerError
        case .preconditionFailed: .preconditionFailed
        case .checksumMismatch: HTTPResponse.Status(code: 460, reasonPhrase: "Checksum Mismatch")
        case .insufficientStorage: HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")
        }
    }

    static func translate(_ error: HTTPError) -> EphemeraError {
        switch error.status {
        case .notFound: return EphemeraError(.notFound, "not_found", "There is nothing at this address.")
        case .methodNotAllowed:
            return EphemeraError(.badRequest, "method_not_allowed", "This address does not accept that method.")
        case .contentTooLarge:
            return EphemeraError(.tooLarge, "body_too_large", "The request body is too large.")
        case .badRequest:
            return .badRequest("malformed_request", error.body.map(Phrase.init(verbatim:)) ?? "The request is malformed.")
        case .unauthorized: return .unauthenticated
        default:
            return EphemeraError(
                error.status.code >= 500 ? .internal : .badRequest, "http_\(error.status.code)",
                Phrase(verbatim: error.body ?? error.status.reasonPhrase))
        }
    }

    /// The JSON error body, its message in the catalogue's language (English without one).
    static func response(for error: EphemeraError, catalogue: Catalogue? = nil) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        if error.kind == .tooLarge { headers[.connection] = "close" }
        if let seconds = error.retryAfterSeconds { headers[.retryAfter] = String(seconds) }
        let body = ErrorBody(error: .init(code: error.code, message: catalogue?.message(error) ?? error.message))
        let data = (try? JSONEncoder().encode(body)) ?? Data()
        return Response(status: status(for: error.kind), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    struct ErrorBody: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
        }
        var error: Detail
    }
}
