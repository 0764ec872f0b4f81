import EphemeraCore
import EphemeraMedia
import EphemeraStore
import Logging
import ServiceLifecycle

/// Runs queued jobs: media one at a time (so at most one encode runs and the HTTP side stays fast), purges
/// beside it. On SIGTERM it finishes the jobs in hand and stops claiming new ones.
public struct JobWorker: Service {
    let queue: SQLJobQueue
    let processor: MediaProcessor
    let purger: Purger
    let deletion: SQLDeletionStore
    let resumableUploads: ResumableUploadJanitor
    let clock: any EphemeraClock
    let signal: JobSignal
    let logger: Logger
    let pollInterval: Duration
    /// Short, and renewed while the job runs, so a crashed node's job is taken over within half a minute.
    let lease: Duration = .seconds(30)

    public init(queue: SQLJobQueue, processor: MediaProcessor, purger: Purger, deletion: SQLDeletionStore,
                resumableUploads: ResumableUploadJanitor, clock: any EphemeraClock, signal: JobSignal, logger: Logger, pollInterval: Duration = .seconds(1)) {
        self.queue = queue
        self.processor = processor
        self.purger = purger
        self.deletion = deletion
        self.resumableUploads = resumableUploads
        self.clock = clock
        self.signal = signal
        self.logger = logger
        self.pollInterval = pollInterval
    }

    public func run() async throws {
        if queue.database.dialect == .sqlite {
            // The only worker of a SQLite database is this process: whatever was running died with the last one.
            try await queue.releaseAllRunning()
        }
        // Media has a lane of its own, one job at a time (at most one encode runs); purges and account
        // deletions have theirs, so a long encode never holds a purge back. Purge steps wait on commits and
        // file system calls, not the CPU, so on PostgreSQL several run at once.
        let purgeLanes = queue.database.dialect == .postgres ? 4 : 2
        await withDiscardingTaskGroup { group in
            group.addTask { await lane(kinds: [MediaProcessor.jobKind]) }
            for _ in 0..<purgeLanes {
                group.addTask { await lane(kinds: [SQLDeletionStore.purgeJobKind, SQLDeletionStore.accountJobKind]) }
            }
        }
    }

    private func lane(kinds: [String]) async {
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

    /// Claims and runs one due job; returns false when there was none.
    @discardableResult
    public func runNext(kinds: [String] = JobWorker.kinds) async throws -> Bool {
        guard let job = try await queue.claim(kinds: kinds, now: clock.now(), lease: lease) else {
            return false
        }
        logger.info("Running job", metadata: ["job": "\(job.id)", "kind": "\(job.kind)", "attempt": "\(job.attempt)"])
        let heartbeat = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(10))
                try await queue.renewLease(jobID: job.id, until: clock.now() + lease)
            }
        }
        defer { heartbeat.cancel() }
        do {
            switch job.kind {
            case MediaProcessor.jobKind:
                try await processor.process(uploadID: job.payload)
            case SQLDeletionStore.purgeJobKind:
                try await purger.purge(segmentID: job.payload)
            case SQLDeletionStore.accountJobKind:
                // Waits (by retrying) until every segment of the account is purged, then removes the account.
                try await resumableUploads.removeAll(ownerID: job.payload)
                guard try await deletion.finishAccountDeletion(accountID: job.payload) else {
                    // Segments under legal hold are purged when the hold ends: wait for that, not in a loop.
                    let now = clock.now()
                    let retryAt = max(now + .seconds(2), try await deletion.legalHoldEnd(authorID: job.payload, now: now) ?? now)
                    try await queue.fail(jobID: job.id, error: "segments still purging", retryAt: retryAt, at: now)
                    return true
                }
            default:
                logger.error("Unknown job kind \(job.kind)")
            }
            try await queue.complete(jobID: job.id, at: clock.now())
        } catch {
            let reason = Self.reason(for: error)
            logger.warning("Job failed", metadata: ["job": "\(job.id)", "attempt": "\(job.attempt)", "error": "\(error)"])
            if job.attempt < job.maxAttempts {
                let backoff = Duration.seconds(min(5 * Int64(job.attempt * job.attempt), 300))
                try await queue.fail(jobID: job.id, error: "\(error)", retryAt: clock.now() + backoff, at: clock.now())
            } else {
                if job.kind == MediaProcessor.jobKind { try await processor.fail(uploadID: job.payload, reason: reason) }
                try await queue.fail(jobID: job.id, error: "\(error)", retryAt: nil, at: clock.now())
            }
        }
        return true
    }

    /// Every kind of job this worker runs.
    public static let kinds = [MediaProcessor.jobKind, SQLDeletionStore.purgeJobKind, SQLDeletionStore.accountJobKind]

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

