import EphemeraCore
import EphemeraStore
import HTTPTypes
import Hummingbird

/// The client's address for rate limits: the peer, unless the peer is one of `--trusted-proxies`; then the
/// address its `X-Forwarded-For` names (`TrustedProxies.clientAddress`). Without trusted proxies the header is
/// ignored, so nobody can pick the address their requests count against.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let proxies: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard !proxies.blocks.isEmpty else { return try await next(request, context) }
        var context = context
        context.address = proxies.clientAddress(peer: context.address, forwardedFor: request.headers[values: .xForwardedFor])
        return try await next(request, context)
    }
}

/// Read-your-writes with a read replica: the writes a request makes are noted (`RequestWrites`), its later
/// reads go to the primary, and it answers only once the replica has replayed them (`ReadReplica`), so whatever
/// anyone reads next, on any node, includes them.
struct ReplicaConsistencyMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let replica: ReadReplica

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let writes = RequestWrites()
        do {
            let response = try await RequestWrites.$current.withValue(writes) { try await next(request, context) }
            if writes.didWrite { await replica.waitForReplay() }
            return response
        } catch {
            // A request that failed after writing (a post refused after its upload row was made and removed) waits too.
            if writes.didWrite { await replica.waitForReplay() }
            throw error
        }
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}
