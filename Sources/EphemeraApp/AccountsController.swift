import EphemeraCore
import EphemeraUseCases
import EphemeraStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOPosix

/// Sign-up, sessions, `/me`, settings and profiles.
struct AccountsController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.post("/api/v1/accounts", use: signUp)
        router.post("/api/v1/sessions", use: signIn)
        router.delete("/api/v1/sessions/current", use: signOut)
        router.get("/api/v1/me", use: me)
        router.patch("/api/v1/me/settings", use: updateSettings)
        router.get("/api/v1/users/:handle", use: profile)
        router.get("/api/v1/me/profile-views", use: profileViews)
    }

    struct SignUp: Decodable {
        var handle: String
        var password: String
        var displayName: String?
    }

    struct SessionBody: Encodable {
        var account: AccountBody
        var token: String
    }

    @Sendable func signUp(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await decodeJSON(SignUp.self, from: request, context: context)
        let (account, token) = try await services.identity.signUp(
            handle: body.handle, password: body.password, displayName: body.displayName, address: context.address)
        return try jsonResponse(SessionBody(account: AccountBody(account, includeSettings: true), token: token),
                                status: .created)
    }

    struct SignIn: Decodable {
        var handle: String
        var password: String
    }

    @Sendable func signIn(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await decodeJSON(SignIn.self, from: request, context: context)
        let (account, token) = try await services.identity.signIn(handle: body.handle, password: body.password,
                                                                   address: context.address)
        return try jsonResponse(SessionBody(account: AccountBody(account, includeSettings: true), token: token),
                                status: .created)
    }

    @Sendable func signOut(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireAccount()
        if let hash = context.tokenHash { try await services.identity.signOut(tokenHash: hash) }
        return Response(status: .noContent)
    }

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> Response {
        try jsonResponse(AccountBody(try context.requireAccount(), includeSettings: true))
    }

    struct SettingsPatch: Decodable {
        var defaultAudience: String?
        var allowDownloads: Bool?
        var allowComments: Bool?
        var viewHistory: Bool?
        var archiveExpired: Bool?
        /// `en`, `fr`, or `auto` to follow the browser again.
        var language: String?
    }

    @Sendable func updateSettings(_ request: Request, context: AppRequestContext) async throws -> Response {
        let account = try context.requireAccount()
        let patch = try await decodeJSON(SettingsPatch.self, from: request, context: context)
        var settings = account.settings
        if let audience = patch.defaultAudience {
            settings.defaultAudience = try Audience.parse(audience, field: "defaultAudience")
        }
        if let value = patch.allowDownloads { settings.allowDownloads = value }
        if let value = patch.allowComments { settings.allowComments = value }
        if let value = patch.viewHistory { settings.viewHistory = value }
        if let value = patch.archiveExpired { settings.archiveExpired = value }
        if let value = patch.language { settings.language = try Language.parseSetting(value) }
        try await services.identity.updateSettings(of: account, settings)
        return try jsonResponse(SettingsBody(settings))
    }

    @Sendable func profile(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try await resolveUser(context.parameters.require("handle"), for: context, services: services)
        return try jsonResponse(ProfileBody(try await services.reading.profile(of: user, for: context.account)))
    }

    struct ProfileViewBody: Encodable {
        var account: AuthorBody
        var viewedAt: String
    }

    /// Who looked at my profile in the last 30 days, between people who both enabled `viewHistory`.
    @Sendable func profileViews(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let page = try PageRequest(request)
        let result = try await services.interacting.profileViewers(of: me, limit: page.limit, after: page.cursor)
        let items = result.items.map { ProfileViewBody(account: AuthorBody($0.account), viewedAt: $0.viewedAt.rfc3339) }
        return try jsonResponse(PageBody(items: items, nextCursor: result.nextCursor))
    }
}

/// The account with `handle`, or 404 — also when a block stands between it and the caller (`Reading.user`).
func resolveUser(_ handle: String, for context: AppRequestContext, services: AppServices) async throws -> Account {
    try await services.reading.user(handle: handle, for: context.account)
}
