import EphemeraCore
import EphemeraMedia
import EphemeraStore
import Foundation
import EphemeraProcess
import Logging

/// `ephemera backup`, `restore-backup` and `keyring-backup`.
///
/// A backup holds the database snapshot and the encrypted media blobs, never the keyring: without the keys
/// its media is unreadable. The keyring has its own backups, which rotate: each run deletes key backups
/// older than the retention, so a purged segment's key (and with it every copy of its media) is gone from
/// everywhere by the date its deletion receipt names.
public enum Backups {
    struct Manifest: Codable {
        var format = 1
        var createdAt: String
        var dialect: String
        var database: String
        /// Where the media were: `file` (in this backup) or `s3://bucket` (not in it: the bucket is the operator's).
        var media: String?
    }

    /// What `ephemera backup` holds, in a sentence for the operator.
    public static func contents(of configuration: AppConfiguration) -> String {
        if configuration.mediaStore == .s3, let s3 = configuration.s3 {
            return "the database snapshot only: media live in bucket \(s3.bucket) at \(s3.endpoint.absoluteString), which you back up "
                + "yourself (keep versioning off, or expire noncurrent versions within --key-backup-retention); keys are never in it"
        }
        return "the database snapshot and the encrypted media; keys are never in it"
    }

    /// Writes a backup of the running (or stopped) installation to `output` (a tar file).
    public static func backup(services: AppServices, output: String) async throws {
        let fm = FileManager.default
        let staging = output + ".staging-" + UUID().uuidString
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: staging) }
        let dialect = services.database.dialect
        let databaseFile = DatabaseBackup.fileName(for: dialect)
        try await DatabaseBackup.snapshot(
            services.database, url: services.configuration.resolvedDatabaseURL, to: staging + "/" + databaseFile)
        let onS3 = services.configuration.mediaStore == .s3
        let manifest = Manifest(createdAt: services.clock.now().rfc3339, dialect: dialect.rawValue, database: databaseFile,
                                media: onS3 ? "s3://" + (services.configuration.s3?.bucket ?? "") : "file")
        try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: staging + "/manifest.json"))
        try await tar(["--create", "--file", output + ".partial", "-C", staging, "manifest.json", databaseFile]
            + (onS3 ? [] : ["-C", services.mediaStore.root, "media"]))
        guard rename(output + ".partial", output) == 0 else { throw BackupError("cannot write \(output)") }
    }

    /// What a restore did.
    public struct RestoreReport: Sendable {
        public var segments: Int
        /// Segments in the backup whose key no longer exists: purged after the backup was taken. They are
        /// purged again at once, never brought back.
        public var purgedAgain: [String]
        /// Handles of accounts deleted after the backup was taken (the erasure ledger): deleted again.
        public var accountsDeletedAgain: [String] = []
    }

    /// Unpacks a backup into an empty data directory (and database), then purges every segment whose key is
    /// gone from the keyring.
    public static func restore(backup file: String, configuration: AppConfiguration) async throws -> RestoreReport {
        let fm = FileManager.default
        try fm.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        let media = configuration.dataDirectory + "/media"
        if let existing = try? fm.contentsOfDirectory(atPath: media), !existing.isEmpty {
            throw BackupError("\(media) is not empty; restore into a fresh data directory.")
        }
        let staging = configuration.dataDirectory + "/.restore-" + UUID().uuidString
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: staging) }
        try await tar(["--extract", "--file", file, "-C", staging])
        guard let data = fm.contents(atPath: staging + "/manifest.json"),
              let manifest = try? JSONDecoder().decode(Manifest.self, from: data),
              let dialect = Database.Dialect(rawValue: manifest.dialect) else {
            throw BackupError("\(file) is not an Ephemera backup (no manifest).")
        }
        let url = configuration.resolvedDatabaseURL
        let target: Database.Dialect = url.hasPrefix("postgres") ? .postgres : .sqlite
        guard target == dialect else {
            throw BackupError("The backup holds a \(dialect.rawValue) database; restore it with a \(dialect.rawValue) --database-url.")
        }
        try await DatabaseBackup.restore(snapshot: staging + "/" + manifest.database, dialect: dialect, url: url)
        if fm.fileExists(atPath: media) { try fm.removeItem(atPath: media) }
        if fm.fileExists(atPath: staging + "/media") {
            try fm.moveItem(atPath: staging + "/media", toPath: media)
        } else {
            try fm.createDirectory(atPath: media, withIntermediateDirectories: true)
        }

        var quiet = configuration
        quiet.runBackgroundServices = false
        let services = try await AppServices.open(configuration: quiet, clock: SystemClock(), logger: .init(label: "ephemera-restore"))
        do {
            let keys = Set(try await services.keyring.keyIDs())
            let rows = try await services.segments.allSegmentStates()
            // The erasure ledger first: accounts deleted after the backup was taken are deleted again (sessions,
            // traces, then their segments' purges), and segments purged since are purged again — before anyone
            // can use the restored server. (`serve` replays it at start too.)
            let replayed = try await services.deleting.replayLedger()
            var purged = Set(replayed.segments)
            for (id, row) in rows where !keys.contains(id) && row.state != .failed {
                if try await services.deletion.beginPurge(segmentID: id, now: services.clock.now()) { purged.insert(id) }
            }
            try await services.worker.drain()
            await services.shutdown()
            return RestoreReport(segments: rows.count, purgedAgain: purged.sorted(),
                                 accountsDeletedAgain: replayed.accounts.map(\.handle).sorted())
        } catch {
            await services.shutdown()
            throw error
        }
    }

    /// Writes `keyring-<time>.tar` (the keyring folder) or `keyring-<time>.dump` (`pg_dump` of the keyring
    /// database: wrapped keys, useless without the master key file) into `directory`, and deletes key backups
    /// there older than `retention`. Returns the new file and the deleted ones.
    public static func backupKeyring(configuration: AppConfiguration, to directory: String, retention: Duration,
                                     now: Instant) async throws -> (written: String, deleted: [String]) {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let stamp = now.rfc3339.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
        let name: String
        if let url = configuration.keyringURL {
            name = "keyring-\(stamp).dump"
            try await DatabaseBackup.dumpPostgres(url: url, to: directory + "/" + name + ".partial")
        } else {
            name = "keyring-\(stamp).tar"
            // The keys, and the erasure ledger kept beside them.
            let ledger = FileManager.default.fileExists(atPath: configuration.resolvedKeyringDirectory + "/erasures.log")
            try await tar(["--create", "--file", directory + "/" + name + ".partial", "-C",
                           configuration.resolvedKeyringDirectory, "keys"] + (ledger ? ["erasures.log"] : []))
        }
        guard rename(directory + "/" + name + ".partial", directory + "/" + name) == 0 else {
            throw BackupError("cannot write \(directory)/\(name)")
        }
        var deleted: [String] = []
        for file in try fm.contentsOfDirectory(atPath: directory)
        where file.hasPrefix("keyring-") && (file.hasSuffix(".tar") || file.hasSuffix(".dump")) {
            guard let taken = instant(ofKeyringBackup: file), taken < now - retention else { continue }
            try fm.removeItem(atPath: directory + "/" + file)
            deleted.append(file)
        }
        return (name, deleted.sorted())
    }

    /// No backup runs this long (tar's own limit): a partial one older than this was interrupted.
    static let interruptedAge: Duration = .seconds(6 * 3600)

    /// A rotating database backup's name: `backup-20261121T120000.000Z.tar`.
    public static func rotatingName(at now: Instant) -> String {
        "backup-" + now.rfc3339.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "") + ".tar"
    }

    /// Deletes the database backups in `directory` taken before `now - retention` (by the time in their names);
    /// returns their names. Anything else in the folder is left alone.
    public static func rotate(_ directory: String, retention: Duration, now: Instant) throws -> [String] {
        var deleted: [String] = []
        // What a backup killed midway left (its `.partial` tar, and the staging folder holding a plaintext
        // database snapshot): removed once older than any backup still running could be.
        for file in try FileManager.default.contentsOfDirectory(atPath: directory)
        where file.hasPrefix("backup-") && (file.hasSuffix(".tar.partial") || file.contains(".tar.staging-")) {
            let path = directory + "/" + file
            let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? nil
            guard let modified, Instant(modified) < now - interruptedAge else { continue }
            try FileManager.default.removeItem(atPath: path)
            deleted.append(file)
        }
        for file in try FileManager.default.contentsOfDirectory(atPath: directory)
        where file.hasPrefix("backup-") && file.hasSuffix(".tar") {
            guard let taken = instant(ofStamp: file.dropFirst("backup-".count).dropLast(".tar".count)),
                  taken < now - retention else { continue }
            try FileManager.default.removeItem(atPath: directory + "/" + file)
            deleted.append(file)
        }
        return deleted.sorted()
    }

    /// The time in a key backup's name (`keyring-20261121T120000.000Z.tar`).
    static func instant(ofKeyringBackup name: String) -> Instant? {
        instant(ofStamp: name.dropFirst("keyring-".count).dropLast(name.hasSuffix(".dump") ? ".dump".count : ".tar".count))
    }

    /// `20261121T120000.000Z` as an instant.
    static func instant(ofStamp stamp: Substring) -> Instant? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss.SSS'Z'"
        return formatter.date(from: String(stamp)).map(Instant.init)
    }

    static func tar(_ arguments: [String]) async throws {
        do {
            _ = try await ProcessRunner(logger: Logger(label: "ephemera-backup"))
                .run("tar", arguments, limits: .init(wallSeconds: 6 * 3600))
        } catch let failure as ProcessRunner.Failure {
            throw BackupError(failure.description)
        }
    }
}
