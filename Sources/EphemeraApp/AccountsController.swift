import EphemeraCore
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
        let (account, token) = try await createAccount(
            handle: body.handle, password: body.password, displayName: body.displayName, address: context.address)
        return try jsonResponse(SessionBody(account: AccountBody(account, includeSettings: true), token: token),
                                status: .created)
    }

    /// Creates an account and its first session: the API's sign-up and the web app's both come here.
    func createAccount(handle: String, password: String, displayName: String?, address: String?) async throws
        -> (Account, String)
    {
        try services.rateLimiter.check(.signUp, account: nil, address: address)
        try AccountRules.validateHandle(handle)
        try AccountRules.validatePassword(password)
        let displayName = displayName?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        try AccountRules.validateDisplayName(displayName)
        let hash = try await services.passwords.hash(password)
        let account = Account(
            id: IDs.make(), handle: handle, displayName: displayName.isEmpty ? handle : displayName,
            role: handle == services.configuration.adminHandle ? .admin : .member, createdAt: services.clock.now(),
            settings: AccountSettings())
        try await services.accounts.create(account, passwordHash: hash)
        return (account, try await startSession(for: account))
    }

    struct SignIn: Decodable {
        var handle: String
        var password: String
    }

    @Sendable func signIn(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await decodeJSON(SignIn.self, from: request, context: context)
        let (account, token) = try await authenticate(handle: body.handle, password: body.password,
                                                      address: context.address)
        return try jsonResponse(SessionBody(account: AccountBody(account, includeSettings: true), token: token),
                                status: .created)
    }

    /// Checks a password and starts a session: the API's sign-in and the web app's both come here.
    func authenticate(handle: String, password: String, address: String?) async throws -> (Account, String) {
        // Per handle as well as per address: guessing one account's password from many addresses is slowed too.
        try services.rateLimiter.check(.signIn, account: "handle:" + handle, address: address)
        let found = try await services.accounts.credentials(handle: handle)
        let matches = try await services.passwords.verifySignIn(password, storedHash: found?.1)
        guard let (account, _) = found, matches else { throw EphemeraError.invalidCredentials }
        return (account, try await startSession(for: account))
    }

    @Sendable func signOut(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireAccount()
        if let hash = context.tokenHash { try await services.accounts.deleteSession(tokenHash: hash) }
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
        try await services.accounts.updateSettings(accountID: account.id, settings)
        return try jsonResponse(SettingsBody(settings))
    }

    @Sendable func profile(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try await resolveUser(context.parameters.require("handle"), for: context, services: services)
        return try jsonResponse(try await profileBody(user, context: context))
    }

    /// A profile as the caller sees it; looking at it records a profile view when both sides opted in.
    func profileBody(_ user: Account, context: AppRequestContext) async throws -> ProfileBody {
        let now = services.clock.now()
        async let followers = services.graph.followerCount(user.id)
        async let following = services.graph.followingCount(user.id)
        async let ring = services.segments.ring(authorID: user.id, viewer: context.account?.id, now: now)
        async let relations = services.graph.relations(viewer: context.account?.id, author: user.id)
        if let viewer = context.account, isProfileViewRecorded(viewer: viewer, profile: user) {
            try await services.profileViews.record(viewer: viewer.id, profile: user.id, at: now)
        }
        return ProfileBody(
            handle: user.handle, displayName: user.displayName, followerCount: try await followers,
            followingCount: try await following, storyRing: try await ring.rawValue,
            followedByMe: try await relations.viewerFollowsAuthor)
    }

    struct ProfileViewBody: Encodable {
        var account: AuthorBody
        var viewedAt: String
    }

    /// Who looked at my profile in the last 30 days, between people who both enabled `viewHistory`.
    @Sendable func profileViews(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let page = try PageRequest(request)
        let result = try await services.profileViews.viewers(of: me.id, now: services.clock.now(), limit: page.limit,
                                                            after: page.cursor)
        let accounts = try await services.accounts.accounts(ids: Set(result.items.map(\.accountID)))
        let items = result.items.compactMap { item in
            accounts[item.accountID].map { ProfileViewBody(account: AuthorBody($0), viewedAt: item.viewedAt.rfc3339) }
        }
        return try jsonResponse(PageBody(items: items, nextCursor: result.nextCursor))
    }

    /// A new random session token; only its hash is stored.
    private func startSession(for account: Account) async throws -> String {
        let token = IDs.randomToken(bytes: 32)
        try await services.accounts.createSession(tokenHash: IDs.hash(token: token), accountID: account.id,
                                                  at: services.clock.now())
        return token
    }
}

/// The account with `handle`, or 404 — also when a block stands between it and the caller.
func resolveUser(_ handle: String, for context: AppRequestContext, services: AppServices) async throws -> Account {
    guard let user = try await services.accounts.account(handle: handle.lowercased()) else {
        throw EphemeraError.userNotFound
    }
    if let viewer = context.account?.id, viewer != user.id,
       try await services.graph.relations(viewer: viewer, author: user.id).blocked {
        throw EphemeraError.userNotFound
    }
    return user
}
