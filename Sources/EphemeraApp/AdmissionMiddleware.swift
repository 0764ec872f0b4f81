import EphemeraCore
import Hummingbird
import Synchronization

/// Counts the requests being answered and refuses those past `--max-in-flight` at once (`AdmissionRules`):
/// 503 `overloaded` with `Retry-After`, from the error middleware, before any work is done for them.
struct AdmissionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limit: Int
    let inFlight: Admission

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if AdmissionRules.isExempt(path: request.uri.path) { return try await next(request, context) }
        guard inFlight.enter(limit: limit) else { throw AdmissionRules.overloaded }
        defer { inFlight.leave() }
        return try await next(request, context)
    }
}

/// The node's count of admitted requests (one for all routes).
final class Admission: Sendable {
    private let count = Atomic<Int>(0)

    func enter(limit: Int) -> Bool {
        let now = count.wrappingAdd(1, ordering: .relaxed).newValue
        if now > limit {
            count.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func leave() { count.wrappingSubtract(1, ordering: .relaxed) }
}
