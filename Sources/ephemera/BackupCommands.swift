import ArgumentParser
import EphemeraApp
import EphemeraCore
import Foundation

/// `ephemera backup --output-dir DIR` (rotating) or `--output FILE`: database snapshot + encrypted media, never
/// the keyring.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a backup (database snapshot and encrypted media; never the keyring) to a tar file.")

    @OptionGroup var options: ServerOptions
    @Option(help: "A folder of backups: writes backup-TIME.tar there and deletes those older than --backup-retention.")
    var outputDir: String?
    @Option(help: "One backup file to write (nothing rotates it: its caption and comment text outlive receipts' promises).")
    var output: String?

    func validate() throws {
        guard (output == nil) != (outputDir == nil) else {
            throw ValidationError("Give --output-dir DIR (rotated by --backup-retention) or --output FILE, not both.")
        }
    }

    func run() async throws {
        var configuration = try options.configuration()
        configuration.runBackgroundServices = false
        let now = SystemClock().now()
        let file = outputDir.map { $0 + "/" + Backups.rotatingName(at: now) } ?? output!
        if let outputDir { try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true) }
        let services = try await AppServices.open(configuration: configuration, clock: SystemClock(), logger: try options.logger())
        do {
            try await Backups.backup(services: services, output: file)
            print("Backup written to \(file): \(Backups.contents(of: configuration)). Back the keyring up with ephemera keyring-backup.")
            if let outputDir {
                for old in try Backups.rotate(outputDir, retention: configuration.backupRetention.database, now: now) {
                    print("Deleted \(old) (\(old.hasSuffix(".tar") ? "older than --backup-retention" : "left by an interrupted backup")).")
                }
                // With backups rotating, no kept backup holds what was erased before the retention: the ledger
                // lets go of those erasures (it would otherwise grow for ever).
                let pruned = try await services.keyring.pruneErasures(
                    before: configuration.backupRetention.ledgerHorizon(now: now))
                if pruned > 0 { print("Pruned \(pruned) erasures older than --backup-retention from the erasure ledger.") }
            }
        } catch {
            await services.shutdown()
            throw error
        }
        await services.shutdown()
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
            print("\(report.purgedAgain.count) had been purged after the backup (the erasure ledger, or their keys gone) and were purged again: "
                  + report.purgedAgain.joined(separator: ", "))
        }
        if !report.accountsDeletedAgain.isEmpty {
            print("\(report.accountsDeletedAgain.count) accounts had been deleted after the backup and were deleted again: "
                  + report.accountsDeletedAgain.map { "@" + $0 }.joined(separator: ", "))
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
