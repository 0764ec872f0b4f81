import EphemeraCore
import EphemeraUseCases
import EphemeraStore
import Hummingbird

/// Following, close friends, blocks and hidden-from (`PUT`/`DELETE`, idempotent), and follower lists.
struct GraphController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        let edges: [(String, SQLGraphStore.Edge)] = [
            ("following", .follow), ("close-friends", .closeFriend), ("blocked", .block), ("hidden-from", .hiddenFrom),
        ]
        for (path, edge) in edges {
            router.put("/api/v1/me/\(path)/:handle") { request, context in
                try await change(edge, add: true, context: context)
            }
            router.delete("/api/v1/me/\(path)/:handle") { request, context in
                try await change(edge, add: false, context: context)
            }
        }
        router.get("/api/v1/users/:handle/followers") { request, context in
            try await list(request, context: context, followers: true)
        }
        router.get("/api/v1/users/:handle/following") { request, context in
            try await list(request, context: context, followers: false)
        }
    }

    func change(_ edge: SQLGraphStore.Edge, add: Bool, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let handle = try context.parameters.require("handle").lowercased()
        // A block hides the blocker from the blocked, so look the target up without the block check when
        // (un)blocking.
        let target: Account
        if edge == .block {
            guard let found = try await services.accounts.account(handle: handle) else { throw EphemeraError.userNotFound }
            target = found
        } else {
            target = try await resolveUser(handle, for: context, services: services)
        }
        guard target.id != me.id else { throw EphemeraError.cannotTargetSelf }
        if add {
            try await services.graph.add(edge, from: me.id, to: target.id, at: services.clock.now())
        } else {
            try await services.graph.remove(edge, from: me.id, to: target.id)
        }
        return Response(status: .noContent)
    }

    func list(_ request: Request, context: AppRequestContext, followers: Bool) async throws -> Response {
        let user = try await resolveUser(context.parameters.require("handle"), for: context, services: services)
        let page = try PageRequest(request)
        let ids = try await services.graph.followPage(of: user.id, followers: followers, limit: page.limit, after: page.cursor)
        let accounts = try await services.accounts.accounts(ids: Set(ids.items))
        var items: [ProfileBody] = []
        for id in ids.items {
            guard let account = accounts[id] else { continue }
            items.append(ProfileBody(try await services.reading.profile(of: account, for: context.account, recordingView: false)))
        }
        return try jsonResponse(PageBody(items: items, nextCursor: ids.nextCursor))
    }
}
