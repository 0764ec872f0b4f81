import EphemeraCore
import EphemeraMedia
import EphemeraStore
import EphemeraWorkers
import Foundation
import Logging

/// Everything the controllers and services share, built once by `buildApplication`.
public struct AppServices: Sendable {
    public let configuration: AppConfiguration
    public let clock: any EphemeraClock
    public let logger: Logger
    public let database: Database
    public let accounts: SQLAccountStore
    public let graph: SQLGraphStore
    public let segments: SQLSegmentStore
    public let deletion: SQLDeletionStore
    public let moderation: SQLModerationStore
    public let interactions: SQLInteractionStore
    public let profileViews: SQLProfileViewStore
    public let jobs: SQLJobQueue
    public let mediaStore: FileMediaStore
    public let prober: FFprobeMediaProber
    public let ffmpeg: FFmpegMediaProcessor
    public let purger: Purger
    public let worker: JobWorker
    public let sweeper: ExpirySweeper
    public let jobSignal: JobSignal
    /// tus uploads: their rows and their encrypted spools.
    public let resumableUploads: SQLResumableUploadStore
    public let spool: UploadSpool
    let rateLimiter: RateLimiter

    /// Scans every store for residue (`ephemera audit`).
    public var auditor: Auditor {
        Auditor(segments: segments, deletion: deletion, mediaStore: mediaStore,
                resumableUploads: ResumableUploadJanitor(uploads: resumableUploads, spool: spool))
    }

    /// Opens the database (migrating it) and the media store. The server (`sweepResidue`) also removes what a
    /// crash may have left in the scratch area; commands that run beside a live server (audit, backup) must not.
    public static func open(configuration: AppConfiguration, clock: any EphemeraClock, logger: Logger,
                            sweepResidue: Bool = false) async throws -> AppServices
    {
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        let database = try Database.open(url: configuration.resolvedDatabaseURL, logger: logger)
        do {
            try await Migrator(database: database).migrate(now: clock.now().milliseconds)
        } catch {
            await database.shutdown()
            throw error
        }
        let mediaStore = try FileMediaStore(
            dataDirectory: configuration.dataDirectory, scratchDirectory: configuration.resolvedScratchDirectory,
            keyring: try FileKeyring(directory: configuration.resolvedKeyringDirectory))
        let segments = SQLSegmentStore(database: database)
        let deletion = SQLDeletionStore(database: database)
        let purger = Purger(deletion: deletion, mediaStore: mediaStore, clock: clock,
                            keyBackupRetention: configuration.keyBackupRetention, logger: logger)
        let jobs = SQLJobQueue(database: database)
        let runner = ProcessRunner(logger: logger)
        let processor = MediaProcessor(
            segments: segments, mediaStore: mediaStore, ffmpeg: FFmpegMediaProcessor(runner: runner), logger: logger)
        let signal = JobSignal()
        let janitor = ResumableUploadJanitor(uploads: SQLResumableUploadStore(database: database),
                                             spool: try UploadSpool(dataDirectory: configuration.dataDirectory,
                                                                    keyring: mediaStore.keyring))
        if sweepResidue { mediaStore.sweepResidue(keepingIncoming: try await segments.uploadSourceFiles()) }
        return AppServices(
            configuration: configuration, clock: clock, logger: logger, database: database,
            accounts: SQLAccountStore(database: database), graph: SQLGraphStore(database: database),
            segments: segments, deletion: deletion, moderation: SQLModerationStore(database: database), interactions: SQLInteractionStore(database: database),
            profileViews: SQLProfileViewStore(database: database), jobs: jobs, mediaStore: mediaStore,
            prober: FFprobeMediaProber(runner: runner), ffmpeg: FFmpegMediaProcessor(runner: runner), purger: purger,
            worker: JobWorker(queue: jobs, processor: processor, purger: purger, deletion: deletion,
                              resumableUploads: janitor, clock: clock,
                              signal: signal, logger: logger),
            sweeper: ExpirySweeper(segments: segments, deletion: deletion, moderation: SQLModerationStore(database: database),
                                   profileViews: SQLProfileViewStore(database: database),
                                   resumableUploads: janitor,
                                   signal: signal, clock: clock, logger: logger,
                                   interval: configuration.sweepInterval),
            jobSignal: signal,
            resumableUploads: janitor.uploads, spool: janitor.spool,
            rateLimiter: RateLimiter(enabled: configuration.rateLimits, factor: configuration.rateLimitFactor, clock: clock))
    }

    public var publicURL: String { configuration.resolvedPublicURL }
}
