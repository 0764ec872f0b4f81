import EphemeraCore
import EphemeraProcess
import EphemeraMedia
import EphemeraObjectStore
import EphemeraStore
import EphemeraUseCases
import EphemeraWorkers
import Foundation
import Logging

/// The ports a test may replace to inject a fault (a transcoder that dies mid-job, a blob store whose fsync
/// fails); production passes none and gets ffmpeg and the configured stores.
public struct PortOverrides: Sendable {
    public var transcoder: (any Transcoder)?
    /// Wraps the configured media store.
    public var media: (@Sendable (any MediaStore) -> any MediaStore)?

    public init(transcoder: (any Transcoder)? = nil, media: (@Sendable (any MediaStore) -> any MediaStore)? = nil) {
        self.transcoder = transcoder
        self.media = media
    }
}

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
    /// The files under the data directory: incoming uploads, and the blobs the media routes serve.
    public let mediaStore: FileMediaStore
    /// The media store port the workers write through (the same store, possibly wrapped by a test).
    public let media: any MediaStore
    /// Uploads waiting for processing: this node's scratch, or (with the S3 store) the shared inbox in the bucket.
    public let uploadInbox: any UploadInbox
    public let keyring: any Keyring
    public let purger: Purger
    public let worker: JobWorker
    public let sweeper: ExpirySweeper
    public let jobSignal: JobSignal
    /// This node's `LISTEN` connection: other nodes' writes empty its caches, their jobs wake its workers.
    public let changeListener: ChangeListener
    /// tus uploads: their rows and their encrypted spools (on this node's disk, or in the bucket).
    public let resumableUploads: SQLResumableUploadStore
    public let spool: any UploadSpool
    /// Sign-up, sign-in, sign-out, reauthentication.
    public let identity: Identity
    /// Turning a received file into a post.
    public let posting: Posting
    /// Deleting, restoring, purging on request, receipts.
    public let deleting: Deleting
    /// Downloads: the original for the author, the watermarked copy (made by a job) for others.
    public let downloading: Downloading
    /// Who may read which segment, and what a reader sees beside it.
    public let reading: Reading
    public let moderating: Moderating
    /// Likes, comments, viewer lists, profile views.
    public let interacting: Interacting
    /// Highlights: segments kept on a profile past their 24 hours.
    public let highlighting: Highlighting
    /// Follows, close friends, blocks, hidden-from, follower lists.
    public let following: Following
    public let sharing: Sharing
    /// My activity inbox.
    public let inbox: Inbox
    /// Everything I posted, for the export.
    public let exporting: Exporting
    /// tus uploads: bytes into the spool, and the post when the last one arrives.
    public let resumableUploading: ResumableUploading
    /// bcrypt at the configured cost, with a dummy hash of the same cost for unknown handles.
    public let passwords: any PasswordHasher
    /// This node's metrics (`GET /metrics`).
    public let metrics: NodeMetrics
    /// Told when a segment processed here leaves `processing` (`GET /api/v1/stories/{id}?wait=`).
    public let segmentsProcessed: ChangeSignal

    /// Scans every store for residue (`ephemera audit`).
    public var auditor: Auditor {
        Auditor(segments: segments, deletion: deletion, media: media, inbox: uploadInbox, keyring: keyring,
                resumableUploads: ResumableUploadJanitor(uploads: resumableUploads, spool: spool))
    }

    /// The configured keyring: the folder, or the PostgreSQL keyring database.
    static func makeKeyring(_ configuration: AppConfiguration, logger: Logger) async throws -> any Keyring {
        guard let url = configuration.keyringURL else {
            return try FileKeyring(directory: configuration.resolvedKeyringDirectory)
        }
        guard let master = configuration.masterKey else {
            throw EphemeraError(.internal, "master_key_missing", "--keyring-url needs --master-key-file.")
        }
        return try await PostgresKeyring.open(url: url, masterKey: master, logger: logger)
    }

    /// The key that signs this server's ciphertext links (`DATA_DIR/ciphertext-links.key`, made at first start).
    /// Losing it only invalidates links already handed out; clients fetch the segment again for new ones.
    static func linkKey(dataDirectory: String) throws -> [UInt8] {
        let path = (dataDirectory as NSString).appendingPathComponent("ciphertext-links.key")
        if let data = FileManager.default.contents(atPath: path), data.count == 32 { return [UInt8](data) }
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let temporary = path + ".tmp-" + UUID().uuidString
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
            throw EphemeraError(.internal, "link_key_unwritable", "Cannot write \(path): is the data folder writable?")
        }
        // Two processes starting at once: the first link wins (a link never replaces), and both read what it holds.
        _ = link(temporary, path)
        try? FileManager.default.removeItem(atPath: temporary)
        guard let stored = FileManager.default.contents(atPath: path), stored.count == 32 else {
            throw EphemeraError(.internal, "link_key_unreadable", "Cannot read \(path).")
        }
        return [UInt8](stored)
    }

    /// Closes the database pools (the main database, and the keyring's when it has one).
    public func shutdown() async {
        if let keys = keyring as? PostgresKeyring { await keys.shutdown() }
        await database.shutdown()
    }

    /// The configured blob store: files under the data directory, or the S3 bucket.
    static func makeMediaStore(_ configuration: AppConfiguration, files: FileMediaStore, keyring: any Keyring) async throws
        -> any MediaStore
    {
        switch configuration.mediaStore {
        case .file:
            return files
        case .s3:
            guard let s3 = configuration.s3 else {
                throw EphemeraError(.internal, "s3_not_configured", "--media-store s3 needs --s3-endpoint, --s3-bucket and the credentials.")
            }
            let client = S3Client(configuration: .init(
                endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, pathStyle: s3.pathStyle,
                credentials: .init(accessKeyID: s3.accessKeyID, secretAccessKey: s3.secretAccessKey)))
            let store = try S3MediaStore(client: client, keyring: keyring, scratchDirectory: configuration.resolvedScratchDirectory)
            try await store.prepareBucket()
            return store
        }
    }

    /// Opens the database (migrating it) and the media store. The server (`sweepResidue`) also removes what a
    /// crash may have left in the scratch area; commands that run beside a live server (audit, backup) must not.
    public static func open(configuration: AppConfiguration, clock: any EphemeraClock, logger: Logger,
                            sweepResidue: Bool = false, ports: PortOverrides = PortOverrides()) async throws -> AppServices
    {
        // Private to this user (0700), as is the SQLite file in it (0600); a folder an older version made 0755 is closed.
        try PrivateDirectory.ensure(configuration.dataDirectory, tighten: true)
        // The scratch area is checked before anything is opened: one that is not ours alone stops the start.
        try PrivateDirectory.ensure(configuration.resolvedScratchDirectory)
        let database = try Database.open(url: configuration.resolvedDatabaseURL, readURL: configuration.databaseReadURL,
                                         logger: logger)
        do {
            try await database.checkConnection()
            try await Migrator(database: database).migrate(now: clock.now().milliseconds)
        } catch {
            await database.shutdown()
            throw error
        }
        let keyring: any Keyring
        do {
            keyring = try await makeKeyring(configuration, logger: logger)
        } catch {
            await database.shutdown()
            throw error
        }
        let mediaStore: FileMediaStore
        let configured: any MediaStore
        do {
            mediaStore = try FileMediaStore(
                dataDirectory: configuration.dataDirectory, scratchDirectory: configuration.resolvedScratchDirectory,
                keyring: keyring)
            configured = try await makeMediaStore(configuration, files: mediaStore, keyring: keyring)
        } catch {
            if let keys = keyring as? PostgresKeyring { await keys.shutdown() }
            await database.shutdown()
            throw error
        }
        let media: any MediaStore = ports.media?(configured) ?? configured
        // ffmpeg and ffprobe run in a network namespace of their own unless the operator said otherwise.
        let network: NetworkIsolation
        switch configuration.isolateFFmpegNetwork ? NetworkIsolation.detected : .success(.shared) {
        case .success(let isolation): network = isolation
        case .failure(let unavailable):
            await database.shutdown()
            throw EphemeraError(.internal, "ffmpeg_network_unavailable", "\(unavailable.description).")
        }
        let runner = ProcessRunner(logger: logger, network: network)
        let transcoder: any Transcoder = ports.transcoder ?? FFmpegMediaProcessor(runner: runner)
        let prober = FFprobeMediaProber(runner: runner)
        let accounts = SQLAccountStore(database: database)
        let segments = SQLSegmentStore(database: database)
        let deletion = SQLDeletionStore(database: database)
        let moderation = SQLModerationStore(database: database)
        let profileViews = SQLProfileViewStore(database: database)
        let graph = SQLGraphStore(database: database)
        let interactions = SQLInteractionStore(database: database)
        let access = MediaAccessIssuer(keyring: keyring, media: media,
                                       linkKey: try linkKey(dataDirectory: configuration.dataDirectory), clock: clock)
        let reading = Reading(segments: segments, graph: graph, moderation: moderation, accounts: accounts,
                              interactions: interactions, profileViews: profileViews, mediaAccess: access, clock: clock)
        // One node on SQLite counts in memory; on PostgreSQL every node counts in the same rows.
        let buckets: any RateBuckets = database.dialect == .postgres ? SQLRateBuckets(database: database) : LocalRateBuckets()
        let limiter = RateLimiter(enabled: configuration.rateLimits, factor: configuration.rateLimitFactor, clock: clock,
                                  buckets: buckets)
        let passwords = BcryptPasswordHasher(cost: configuration.bcryptCost, maxWaitSeconds: configuration.passwordWaitSeconds)
        let identity = Identity(accounts: accounts, passwords: passwords, limiter: limiter, clock: clock,
                                adminHandle: configuration.adminHandle)
        let purger = Purger(deletion: deletion, media: media, keyring: keyring, clock: clock,
                            retention: configuration.backupRetention, logger: logger)
        let jobs = SQLJobQueue(database: database, nodeID: configuration.nodeID)
        let interacting = Interacting(reading: reading, segments: segments, interactions: interactions, accounts: accounts,
                                      profileViews: profileViews, limiter: limiter, clock: clock)
        let uploadInbox: any UploadInbox = (configured as? S3MediaStore).map { SharedInbox(local: mediaStore, store: $0) }
            ?? mediaStore
        let segmentsProcessed = ChangeSignal()
        let processor = MediaProcessor(segments: segments, incoming: uploadInbox, media: media, keyring: keyring,
                                       transcoder: transcoder, logger: logger, processed: segmentsProcessed)
        let renderer = DownloadRenderer(segments: segments, accounts: accounts, media: media, transcoder: transcoder,
                                        logger: logger)
        let signal = JobSignal()
        let posting = Posting(segments: segments, keyring: keyring, prober: prober, inbox: uploadInbox,
                              transcoder: transcoder, media: media, limits: configuration.mediaLimits, lifetime: configuration.storyLifetime,
                              maxLifetime: configuration.maxStoryLifetime, clock: clock,
                              limiter: limiter, wakeWorkers: { signal.notify() })
        let spool: any UploadSpool = try (configured as? S3MediaStore).map { S3UploadSpool(client: $0.client, keyring: keyring) }
            ?? FileUploadSpool(dataDirectory: configuration.dataDirectory, keyring: keyring)
        let janitor = ResumableUploadJanitor(uploads: SQLResumableUploadStore(database: database), spool: spool)
        var worker = JobWorker(queue: jobs, processor: processor, renderer: renderer, purger: purger, deletion: deletion,
                               resumableUploads: janitor, clock: clock, signal: signal, logger: logger)
        worker.remoteMedia = configured is S3MediaStore
        worker.lease = configuration.jobLease
        let metrics = NodeMetrics()
        worker.metrics = WorkerMetrics(factory: metrics.factory)
        if sweepResidue {
            // First the helpers a killed server left writing there, then what they and it left.
            let orphans = OrphanedHelpers.reap(under: configuration.resolvedScratchDirectory)
            if !orphans.isEmpty {
                logger.notice("Killed helper processes a previous server left running",
                              metadata: ["pids": "\(orphans.map(String.init).joined(separator: ","))"])
            }
            mediaStore.sweepResidue(keepingIncoming: try await segments.uploadSourceFiles())
            // Partial writes older than any write still in flight on another node were left by a crash.
            let abandoned = try await media.removeAbandonedWrites(startedBefore: clock.now() - AbandonedWrites.age)
            if abandoned > 0 { logger.notice("Removed partial media writes left by a crash", metadata: ["count": "\(abandoned)"]) }
            let auditor = Auditor(segments: segments, deletion: deletion, media: media, inbox: uploadInbox, keyring: keyring,
                                  resumableUploads: janitor)
            let cutoff = StrayKeys.cutoff(now: clock.now(), startingSingleNode: database.dialect == .sqlite)
            for id in try await auditor.removeStrayKeys(madeBefore: cutoff) {
                logger.notice("Removed a data key no segment or upload names (left by a crash)", metadata: ["key": "\(id)"])
            }
            for name in try await auditor.removeStrayIncoming() {
                logger.notice("Removed an incoming file no upload names (left by a crash)", metadata: ["file": "\(name)"])
            }
        }
        let services = AppServices(
            configuration: configuration, clock: clock, logger: logger, database: database,
            accounts: accounts, graph: graph,
            segments: segments, deletion: deletion, moderation: moderation,
            interactions: interactions,
            profileViews: profileViews, jobs: jobs, mediaStore: mediaStore, media: media, uploadInbox: uploadInbox,
            keyring: keyring,
            purger: purger,
            worker: worker,
            sweeper: ExpirySweeper(segments: segments, deletion: deletion, moderation: moderation,
                                   profileViews: profileViews, resumableUploads: janitor, media: media, inbox: uploadInbox,
                                   keyring: keyring, signal: signal, clock: clock, logger: logger,
                                   interval: configuration.sweepInterval),
            jobSignal: signal,
            changeListener: ChangeListener(database: database, nodeID: configuration.nodeID, logger: logger, onJobQueued: { signal.notify() }),
            resumableUploads: janitor.uploads, spool: janitor.spool,
            identity: identity,
            posting: posting,
            deleting: Deleting(segments: segments, deletion: deletion, moderation: moderation, identity: identity,
                               ledger: keyring, clock: clock, restoreWindow: configuration.restoreWindow, wakeWorkers: { signal.notify() }),
            downloading: Downloading(reading: reading, accounts: accounts, media: media, jobs: jobs, clock: clock,
                                     wait: configuration.downloadWait, wakeWorkers: { signal.notify() }),
            reading: reading,
            moderating: Moderating(moderation: moderation, accounts: accounts, reading: reading, clock: clock,
                                   legalHold: configuration.legalHold, limiter: limiter),
            interacting: interacting,
            highlighting: Highlighting(highlights: SQLHighlightStore(database: database), segments: segments, graph: graph,
                                       accounts: accounts, reading: reading, clock: clock),
            following: Following(reading: reading, graph: graph, accounts: accounts, clock: clock),
            sharing: Sharing(reading: reading, shares: SQLShareStore(database: database), graph: graph, limiter: limiter,
                             clock: clock),
            inbox: Inbox(activity: SQLActivityStore(database: database), accounts: accounts, clock: clock),
            exporting: Exporting(reading: reading, interacting: interacting, media: media),
            resumableUploading: ResumableUploading(uploads: janitor.uploads, spool: spool, inbox: uploadInbox,
                                                   posting: posting, segments: segments,
                                                   maxUploadBytes: configuration.maxUploadBytes, clock: clock),
            passwords: passwords, metrics: metrics, segmentsProcessed: segmentsProcessed)
        if sweepResidue {
            // A database restored from a backup by hand (not through restore-backup) holds what was erased since
            // it was taken: the erasure ledger beside the keyring erases it again before the server answers.
            let replayed = try await services.deleting.replayLedger()
            for account in replayed.accounts {
                logger.notice("Deleted again an account the erasure ledger says was deleted (a restored database)",
                              metadata: ["account": "\(account.id)"])
            }
            if !replayed.segments.isEmpty {
                logger.notice("Purging again segments the erasure ledger says were purged (a restored database)",
                              metadata: ["count": "\(replayed.segments.count)"])
            }
        }
        return services
    }

    public var publicURL: String { configuration.resolvedPublicURL }
}
