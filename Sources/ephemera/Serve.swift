import ArgumentParser
import Foundation
import EphemeraApp
import Hummingbird
import Logging
import EphemeraCore

/// `ephemera serve`: migrates, then serves the API with the job worker and expiry sweeper until SIGTERM or
/// SIGINT, which drain in-flight requests and the job in hand before exiting 0.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (migrates the database first).")

    @OptionGroup var options: ServerOptions
    @Option(help: "Make this account an admin: now if it exists, else when it signs up (the first account of a new community).")
    var admin: String?
    // Here rather than with the shared options: `ephemera user promote` has a --role of its own (an account's).
    @Option(help: "all: HTTP, jobs and the sweeper; web: HTTP only; worker: jobs and the sweeper only (HTTP answers /healthz and /readyz). [EPHEMERA_ROLE, default all]")
    var role: String?

    func run() async throws {
        var configuration = try options.configuration()
        if let text = role ?? ProcessInfo.processInfo.environment["EPHEMERA_ROLE"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let parsed = NodeRole(rawValue: text.lowercased()) else {
                throw ValidationError("Invalid configuration:\n  \(role == nil ? "EPHEMERA_ROLE" : "--role"): '\(text)' is not all, web or worker")
            }
            configuration.role = parsed
        }
        configuration.adminHandle = admin.map { String($0.trimmingPrefix("@")).lowercased() }
        let logger = try options.logger()
        let built = try await buildApplication(configuration: configuration, logger: logger)
        try await built.application.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}

/// `ephemera migrate`: applies pending migrations and exits.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply database migrations and exit.")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        var configuration = try options.configuration()
        configuration.runBackgroundServices = false
        let logger = try options.logger()
        let services = try await AppServices.open(configuration: configuration, clock: SystemClock(), logger: logger)
        await services.shutdown()
        print("Database is up to date (\(configuration.summary)).")
    }
}
