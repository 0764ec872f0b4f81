import ArgumentParser
import EphemeraApp
import EphemeraCore
import Foundation

/// `ephemera backup --output FILE`: database snapshot + encrypted media, never the keyring.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a backup (database snapshot and encrypted media; never the keyring) to a tar file.")

    @OptionGroup var options: ServerOptions
    @Option(help: "The backup file to write.") var output: String

    func run() async throws {
        var configuration = try options.configuration()
        configuration.runBackgroundServices = false
        let services = try await AppServices.open(configuration: configuration, clock: SystemClock(), logger: try options.logger())
        do {
            try await Backups.backup(services: services, output: output)
        } catch {
            await services.shutdown()
            throw error
        }
        await services.shutdown()
        print("Backup written to \(output): \(Backups.contents(of: configuration)). Back the keyring up with ephemera keyring-backup.")
    }
}

/// `ephemera restore-backup FILE --data-dir …`: unpacks a backup into a fresh data directory.
struct RestoreBackup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore-backup",
        abstract: "Restore a backup into a fresh data directory; segments purged since the backup stay purged.")

    @Argument(help: "The backup file.") var file: String
    @OptionGroup var options: ServerOptions

    func run() async throws {
        let report = try await Backups.restore(backup: file, configuration: try options.configuration())
        print("Restored \(report.segments) segments.")
        if !report.purgedAgain.isEmpty {
            print("\(report.purgedAgain.count) had been purged after the backup (their keys are gone) and were purged again: "
                  + report.purgedAgain.joined(separator: ", "))
        }
    }
}

/// `ephemera keyring-backup --output-dir DIR`: a backup of the keys, with rotation.
struct KeyringBackup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyring-backup",
        abstract: "Back the keyring up into a folder of its own and delete key backups older than the retention.")

    @OptionGroup var options: ServerOptions
    @Option(help: "Folder for keyring backups (keep it apart from media backups).") var outputDir: String

    func run() async throws {
        let configuration = try options.configuration()
        let result = try await Backups.backupKeyring(
            configuration: configuration, to: outputDir,
            retention: configuration.keyBackupRetention, now: SystemClock().now())
        print("Keyring backup \(outputDir)/\(result.written) written.")
        for file in result.deleted { print("Deleted \(file) (older than the retention).") }
    }
}
