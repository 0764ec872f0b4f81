import ArgumentParser
import EphemeraApp
import EphemeraCore

/// `ephemera audit`: scans the database, media and keyring for residue. Prints "no residue" and exits 0 when
/// clean; otherwise prints each finding and exits 1.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scan every store for residue: blobs with no row, rows with no blob, anything left of a purge.")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        var configuration = try options.configuration()
        configuration.runBackgroundServices = false
        var logger = try options.logger()
        logger.logLevel = .warning
        let services = try await AppServices.open(configuration: configuration, clock: SystemClock(), logger: logger)
        let findings: [String]
        do {
            findings = try await services.auditor.findings()
        } catch {
            await services.shutdown()
            throw error
        }
        await services.shutdown()
        if findings.isEmpty {
            print("no residue")
            return
        }
        for finding in findings { print(finding) }
        print("\(findings.count) finding\(findings.count == 1 ? "" : "s")")
        throw ExitCode(1)
    }
}
