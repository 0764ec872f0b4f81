import EphemeraCore
import Hummingbird

/// `GET /metrics`: the node's metrics in Prometheus' text format (`NodeMetrics`), only to the addresses of
/// `--metrics-allow` (default loopback); anyone else gets 403 saying which flag opens it.
struct MetricsController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.get("/metrics", use: metrics)
    }

    @Sendable func metrics(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard services.configuration.metricsAccess.allows(context.address) else {
            throw EphemeraError(.forbidden, "metrics_forbidden",
                                "Metrics are served only to the addresses in --metrics-allow (default: this machine).")
        }
        let text = try await services.metrics.scrape(services)
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
