import EphemeraCore
import EphemeraUseCases
import EphemeraStore
import Hummingbird

/// Following, close friends, blocks, hidden-from and muted (`PUT`/`DELETE`, idempotent), and follower lists.
struct GraphController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        let edges: [(String, SQLGraphStore.Edge)] = [
            ("following", .follow), ("close-friends", .closeFriend), ("blocked", .block), ("hidden-from", .hiddenFrom),
            ("muted", .mute),
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
        try await services.following.change(edge, add: add, handle: try context.parameters.require("handle"),
                                            by: try context.requireAccount())
        return Response(status: .noContent)
    }

    func list(_ request: Request, context: AppRequestContext, followers: Bool) async throws -> Response {
        let page = try PageRequest(request)
        let result = try await services.following.list(of: try context.parameters.require("handle"), followers: followers,
                                                       for: context.account, limit: page.limit, after: page.cursor)
        return try jsonResponse(PageBody(items: result.items.map(ProfileBody.init), nextCursor: result.nextCursor))
    }
}
