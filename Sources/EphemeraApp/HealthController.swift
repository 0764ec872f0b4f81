import Foundation
import Hummingbird

/// `/healthz` (the process answers) and `/readyz` (the database and the media store, folder or bucket, can be used).
struct HealthController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.get("/healthz") { _, _ in try jsonResponse(["status": "ok"]) }
        router.get("/readyz") { _, _ in
            let database = await services.database.ping()
            let media = await services.media.isReady()
            let body = ["status": database && media ? "ready" : "unavailable",
                        "database": database ? "ok" : "unreachable",
                        "mediaStore": media ? "ok" : (services.configuration.mediaStore == .s3 ? "unreachable" : "unwritable")]
            return try jsonResponse(body, status: database && media ? .ok : .serviceUnavailable)
        }
    }
}
