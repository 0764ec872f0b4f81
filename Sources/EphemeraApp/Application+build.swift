import EphemeraCore
import EphemeraStore
import Hummingbird
import Logging
import ServiceLifecycle

/// The application and the services behind it.
public struct EphemeraApplication: Sendable {
    public let application: Application<RouterResponder<AppRequestContext>>
    public let services: AppServices
    /// Every route the router answers, as `METHOD /path/{parameter}` (checked against the OpenAPI document).
    public let routes: [String]
}

/// The composition root: opens the database and media store, and builds the router, the background services
/// (job worker, expiry sweeper) and the HTTP server. `ephemera serve` and the tests both call it.
public func buildApplication(
    configuration: AppConfiguration, clock: any EphemeraClock = SystemClock(), logger: Logger? = nil,
    ports: PortOverrides = PortOverrides()
) async throws -> EphemeraApplication {
    var logger = logger ?? Logger(label: "ephemera")
    logger[metadataKey: "node"] = "\(configuration.nodeID)"
    let services = try await AppServices.open(configuration: configuration, clock: clock, logger: logger,
                                              sweepResidue: true, ports: ports)
    if let admin = configuration.adminHandle, let was = try await services.moderating.assignRole(.admin, handle: admin),
       was.role != .admin {
        logger.notice("@\(admin) is an admin")
    }
    let fastPath = CiphertextFastPath.Shared(
        controller: CiphertextController(services: services),
        security: SecurityHeadersMiddleware(
            mediaOrigin: services.configuration.mediaStore == .s3 ? services.configuration.s3?.browserOrigin : nil),
        log: RequestLogMiddleware(logger: services.logger, metrics: services.metrics), serverName: serverName)
    let router = try buildRouter(services, security: fastPath.security, log: fastPath.log)
    // Services stop in reverse order: the server drains first, then the workers finish their job in hand,
    // the change listener stops, and the database closes last.
    var background: [any Service] = [DatabaseCloser(services: services)]
    if services.database.dialect == .postgres {
        background.append(ChangeListenerService(listener: services.changeListener))
    }
    if configuration.runBackgroundServices && configuration.role.runsJobs {
        background += [services.worker, services.sweeper] as [any Service]
    }
    // Ciphertext links are this server's only on the file store (an object store's are presigned URLs).
    let fastPaths = configuration.role.servesRequests && configuration.mediaStore == .file
    let application = Application(
        router: router,
        server: .http1(configuration: .init(additionalChannelHandlers: fastPaths ? [CiphertextFastPath(fastPath)] : [])),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: serverName),
        services: background,
        logger: logger)
    logger.info("Ephemera configured: \(configuration.summary)")
    return EphemeraApplication(application: application, services: services,
                               routes: router.routes.map { "\($0.method.rawValue) \($0.path)" })
}

/// The `Server` header's value.
let serverName = "Ephemera"

func buildRouter(_ services: AppServices, security: SecurityHeadersMiddleware, log: RequestLogMiddleware) throws
    -> Router<AppRequestContext>
{
    let pages = try WebPages(secureCookies: services.publicURL.hasPrefix("https://"))
    let router = Router(context: AppRequestContext.self)
    guard services.configuration.role.servesRequests else {
        // A worker node: its HTTP side is for health checks only.
        HealthController(services: services).register(on: router)
        return router
    }
    router.add(middleware: log)
    router.add(middleware: security)
    router.add(middleware: ErrorMiddleware(pages: pages))
    // Past --max-in-flight, a request is refused at once (503 overloaded, Retry-After) rather than queued.
    router.add(middleware: AdmissionMiddleware(limit: services.configuration.maxInFlight, inFlight: Admission()))
    // Ciphertext links carry their own authority (a signature) and read no database: registered before the
    // middlewares that find the client, the session and the replica's position (Hummingbird applies a
    // middleware only to the routes added after it), so the busiest media route runs only what it needs. Most
    // of its requests never get here: `CiphertextFastPath` answers them in the channel pipeline.
    CiphertextController(services: services).register(on: router)
    router.add(middleware: ClientAddressMiddleware(proxies: services.configuration.trustedProxies))
    if let replica = services.database.replica {
        router.add(middleware: ReplicaConsistencyMiddleware(replica: replica))
    }
    router.add(middleware: AuthMiddleware(accounts: services.accounts))
    HealthController(services: services).register(on: router)
    OpenAPIController().register(on: router)
    MetricsController(services: services).register(on: router)
    AccountsController(services: services).register(on: router)
    GraphController(services: services).register(on: router)
    let stories = StoriesController(services: services)
    stories.register(on: router)
    DeletionController(services: services).register(on: router)
    ExportController(services: services).register(on: router)
    InteractionsController(services: services).register(on: router)
    HighlightsController(services: services).register(on: router)
    ActivityController(services: services).register(on: router)
    DownloadController(services: services).register(on: router)
    ShareController(services: services, pages: pages).register(on: router)
    PostController(services: services).register(on: router)
    ResumableUploadsController(services: services).register(on: router)
    MediaController(services: services).register(on: router)
    ModerationController(services: services).register(on: router)
    let web = WebController(services: services, pages: pages)
    web.register(on: router)
    WebModerationController(web: web).register(on: router)
    return router
}

/// Runs the node's `LISTEN` connection until shutdown (`ChangeListener`).
struct ChangeListenerService: Service {
    let listener: ChangeListener

    func run() async throws {
        await cancelWhenGracefulShutdown { await listener.run() }
    }
}

/// Closes the database once everything else has stopped.
struct DatabaseCloser: Service {
    let services: AppServices

    func run() async throws {
        try? await gracefulShutdown()
        await services.shutdown()
    }
}
