import EphemeraCore
import EphemeraStore
import HTTPTypes
import Hummingbird

/// Resolves `Authorization: Bearer <token>` to an account. No token leaves the request signed out; a token
/// that matches no session is a 401, so a client learns its session ended instead of seeing less.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let accounts: SQLAccountStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let header = request.headers[.authorization] else { return try await next(request, context) }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw EphemeraError(.unauthorized, "invalid_token", "Send the token as 'Authorization: Bearer <token>'.")
        }
        let hash = IDs.hash(token: String(parts[1]))
        guard let account = try await accounts.account(sessionTokenHash: hash) else {
            throw EphemeraError(.unauthorized, "invalid_token",
                                "This session token is not valid (signed out or expired). Sign in again.")
        }
        var context = context
        context.account = account
        context.tokenHash = hash
        return try await next(request, context)
    }
}
