import EphemeraCore
import EphemeraProcess
import EphemeraMedia
import EphemeraStore
import Logging
import ServiceLifecycle

/// What a job handler answers.
public enum JobOutcome: Sendable {
    /// The job's work is done.
    case done
    /// Nothing failed, but the job must run again at this instant (an account waiting for a legal hold).
    case again(at: Instant, because: String)
}

/// Runs queued jobs, one lane per `JobLane`: media one at a time (so at most one encode runs and the HTTP side
/// stays fast), deletions beside it. Every kind of job has exactly one handler, in `handle`. On SIGTERM it
/// finishes the jobs in hand and stops claiming new ones.
public struct JobWorker: Service {
    let queue: SQLJobQueue
    let processor: MediaProcessor
    let renderer: DownloadRenderer
    let purger: Purger
    let deletion: SQLDeletionStore
    let resumableUploads: ResumableUploadJanitor
    let clock: any EphemeraClock
    let signal: JobSignal
    let logger: Logger
    let pollInterval: Duration
    /// Short, and renewed every third of it while the job runs, so a crashed node's job is taken over within half
    /// a minute (`EPHEMERA_JOB_LEASE` shortens it for the cluster test).
    public var lease: Duration = .seconds(30)

    public init(queue: SQLJobQueue, processor: MediaProcessor, renderer: DownloadRenderer, purger: Purger,
                deletion: SQLDeletionStore, resumableUploads: ResumableUploadJanitor, clock: any EphemeraClock,
                signal: JobSignal, logger: Logger, pollInterval: Duration = .seconds(1)) {
        self.queue = queue
        self.processor = processor
        self.renderer = renderer
        self.purger = purger
        self.deletion = deletion
        self.resumableUploads = resumableUploads
        self.clock = clock
        self.signal = signal
        self.logger = logger
        self.pollInterval = pollInterval
    }

    /// Whether blobs live in a remote object store (purges then wait mostly on the network).
    public var remoteMedia = false
    /// Where job durations, waits and purge lag are reported (nothing by default).
    public var metrics: WorkerMetrics?

    public func run() async throws {
        if queue.database.dialect == .sqlite {
            // The only worker of a SQLite database is this process: whatever was running died with the last one.
            try await queue.releaseAllRunning()
        }
        // Purge steps wait on commits, file system calls and (with an object store) network round trips, not
        // the CPU, so several run at once: more on PostgreSQL, and more when the blobs are remote.
        let deletionLanes = (queue.database.dialect == .postgres ? 8 : 2) * (remoteMedia ? 2 : 1)
        await withDiscardingTaskGroup { group in
            group.addTask { await lane(kinds: JobLane.media.kinds) }
            for _ in 0..<deletionLanes {
                group.addTask { await lane(kinds: JobLane.deletion.kinds) }
            }
        }
    }

    private func lane(kinds: [JobKind]) async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let didWork: Bool
            do {
                didWork = try await runNext(kinds: kinds)
            } catch {
                logger.error("Job queue unavailable: \(error)")
                didWork = false
            }
            if !didWork {
                await cancelWhenGracefulShutdown { await signal.wait(timeout: pollInterval) }
            }
        }
    }

    /// The one handler of each kind of job.
    func handle(_ job: Job) async throws -> JobOutcome {
        switch job {
        case .processUpload(let uploadID):
            try await processor.process(uploadID: uploadID)
        case .renderDownload(let segmentID):
            try await renderer.render(segmentID: segmentID)
        case .purgeSegment(let segmentID):
            try await purger.purge(segmentID: segmentID)
        case .deleteAccount(let accountID):
            try await resumableUploads.removeAll(ownerID: accountID)
            guard try await deletion.finishAccountDeletion(accountID: accountID) else {
                // Segments under legal hold are purged when the hold ends: wait for that, not in a loop.
                let now = clock.now()
                let retryAt = DeletionRules.accountRemovalRetry(
                    at: now, lastHoldEnd: try await deletion.legalHoldEnd(authorID: accountID, now: now))
                return .again(at: retryAt, because: "segments still purging")
            }
        }
        return .done
    }

    /// What happens when a job has failed for good.
    func gaveUp(on job: Job, reason: String) async throws {
        switch job {
        case .processUpload(let uploadID): try await processor.fail(uploadID: uploadID, reason: reason)
        case .renderDownload, .purgeSegment, .deleteAccount: break
        }
    }

    /// Claims and runs one due job; returns false when there was none.
    @discardableResult
    public func runNext(kinds: [JobKind] = JobKind.allCases) async throws -> Bool {
        guard let claimed = try await queue.claim(kinds: kinds, now: clock.now(), lease: lease) else {
            return false
        }
        let metadata: Logger.Metadata = ["job": "\(claimed.id)", "kind": "\(claimed.job.kind.rawValue)", "attempt": "\(claimed.attempt)"]
        logger.info("Running job", metadata: metadata)
        let heartbeat = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: lease / 3)
                try await queue.renewLease(claimed, until: clock.now() + lease)
            }
        }
        defer { heartbeat.cancel() }
        let started = ContinuousClock.now
        metrics?.began(claimed, at: clock.now())
        do {
            switch try await JobFence.$current.withValue(claimed, operation: { try await handle(claimed.job) }) {
            case .done:
                try await queue.complete(claimed, at: clock.now())
                metrics?.finished(claimed, duration: ContinuousClock.now - started, at: clock.now())
            case .again(let at, let because):
                try await queue.fail(claimed, error: because, retryAt: at, at: clock.now())
            }
        } catch let lost as JobFenceLost {
            // Another node holds the job now; what this attempt did was rolled back, and the row is not ours to touch.
            logger.warning("Job taken over by another node", metadata: metadata.merging(["error": "\(lost)"]) { $1 })
        } catch {
            metrics?.failed(claimed)
            var failed = metadata
            failed["error"] = "\(error)"
            logger.warning("Job failed", metadata: failed)
            if claimed.attempt < claimed.maxAttempts {
                let backoff = Duration.seconds(min(5 * Int64(claimed.attempt * claimed.attempt), 300))
                try await queue.fail(claimed, error: "\(error)", retryAt: clock.now() + backoff, at: clock.now())
            } else {
                try await gaveUp(on: claimed.job, reason: Self.reason(for: error))
                try await queue.fail(claimed, error: "\(error)", retryAt: nil, at: clock.now())
            }
        }
        signal.notify()
        return true
    }

    /// Runs due jobs until none is left (tests, and `ephemera` commands that process inline).
    public func drain() async throws {
        while try await runNext() {}
    }

    /// What the author reads in `failureReason`: no paths, no internals.
    static func reason(for error: any Error) -> String {
        if let failure = error as? ProcessRunner.Failure { return failure.authorFacingReason }
        return "Processing failed. Try posting the file again, or export it in another format."
    }
}
