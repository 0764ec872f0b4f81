import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// One log line per request — method, route template and path (never the query, which may carry a share code or
/// a cursor), status, duration — under a request id that the response carries as `X-Request-Id`. A well-formed id sent by the
/// client (a load balancer's) is kept, so one request can be followed from nginx to the node.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let logger: Logger
    let metrics: NodeMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let id = request.headers[.xRequestID].flatMap(Self.acceptable) ?? Self.newID()
        let started = ContinuousClock.now
        metrics.inFlight.increment()
        defer { metrics.inFlight.decrement() }
        do {
            var response = try await next(request, context)
            response.headers[.xRequestID] = id
            log(method: request.method, path: request.uri.path, route: context.endpointPath, status: Int(response.status.code), id: id, since: started,
                bytes: response.body.contentLength)
            return response
        } catch {
            log(method: request.method, path: request.uri.path, route: context.endpointPath, status: (error as? any HTTPResponseError).map { Int($0.status.code) } ?? 500,
                id: id, since: started, bytes: nil)
            throw error
        }
    }

    /// Counts the request in the metrics and logs its line (also for the answers `CiphertextFastPath` writes).
    func log(method: HTTPRequest.Method, path: String, route: String?, status: Int, id: String, since started: ContinuousClock.Instant,
             bytes: Int?) {
        let elapsed = ContinuousClock.now - started
        metrics.record(route: route ?? "NotFound", method: method.rawValue, status: status, duration: elapsed, bytes: bytes)
        guard logger.logLevel <= .info else { return }
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        // The route is the template a request matched (`/api/v1/stories/{id}`), "NotFound" when none did.
        logger.info("request", metadata: [
            "requestId": "\(id)", "method": "\(method.rawValue)", "route": "\(route ?? "NotFound")",
            "path": "\(path)", "status": .stringConvertible(status),
            "durationMs": .stringConvertible((milliseconds * 10).rounded() / 10),
        ])
    }

    static func acceptable(_ text: String) -> String? {
        text.count <= 64 && !text.isEmpty && text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
            ? text : nil
    }

    /// 16 lowercase hex digits: 32 random bits drawn when the process starts, then a count (every request makes
    /// one: no system call for randomness per request, and no two alike within a process).
    static func newID() -> String {
        let number = idBase | UInt64(idCount.wrappingAdd(1, ordering: .relaxed).oldValue)
        let hex = String(number, radix: 16)
        return String(repeating: "0", count: 16 - hex.utf8.count) + hex
    }

    private static let idBase = UInt64(UInt32.random(in: .min ... .max)) << 32
    private static let idCount = Atomic<UInt32>(0)
}

extension HTTPField.Name {
    static let xRequestID = Self("X-Request-Id")!
}
