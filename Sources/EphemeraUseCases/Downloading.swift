import EphemeraCore
import EphemeraStore

/// What a download request gets.
public enum DownloadAnswer: Sendable {
    /// Send `rendition` of `segment` (its author is named in the file name).
    case ready(segment: Segment, author: Account, rendition: Rendition)
    /// The watermarked copy is being made: ask again in `retryAfterSeconds`.
    case preparing(retryAfterSeconds: Int)
}

/// A download the client decrypts: the key, where the ciphertext is, and the name to save it under.
public struct EncryptedDownload: Sendable {
    public var access: MediaAccess
    /// A path on this site (`/ciphertext/…`) or a presigned object-store URL.
    public var link: String
    public var rendition: Rendition
    public var filename: String
}

public enum EncryptedDownloadAnswer: Sendable {
    case ready(EncryptedDownload)
    case preparing(retryAfterSeconds: Int)
}

/// Downloads (API.md, "Stories"): the author's unmarked original, or for anyone who may see the segment a copy
/// with the `@handle` watermark, made once by a `renderDownload` job in the media lane (one encode at a time
/// however many first downloads arrive together). A request waits for that job up to `wait`, then answers
/// `preparing`.
public struct Downloading: Sendable {
    let reading: Reading
    let accounts: SQLAccountStore
    let media: any MediaStore
    let jobs: any JobQueue
    let clock: any EphemeraClock
    let wait: Duration
    let wakeWorkers: @Sendable () -> Void

    public init(reading: Reading, accounts: SQLAccountStore, media: any MediaStore, jobs: any JobQueue,
                clock: any EphemeraClock, wait: Duration, wakeWorkers: @escaping @Sendable () -> Void) {
        self.reading = reading
        self.accounts = accounts
        self.media = media
        self.jobs = jobs
        self.clock = clock
        self.wait = wait
        self.wakeWorkers = wakeWorkers
    }

    public func download(segmentID: String, by caller: Account?, original: Bool) async throws -> DownloadAnswer {
        var segment = try await reading.readableSegment(segmentID, by: caller)
        guard let author = try await accounts.account(id: segment.authorID) else { throw EphemeraError.storyNotFound }
        let rendition = try DownloadRules.rendition(of: segment, for: caller?.id, original: original, author: author)
        if !original, try await !media.renditions(segmentID: segment.id).contains(rendition) {
            guard try await prepare(segment) else { return .preparing(retryAfterSeconds: DownloadRules.retryAfterSeconds) }
            // It may have been deleted while the copy was being made.
            segment = try await reading.readableSegment(segmentID, by: caller)
        }
        return .ready(segment: segment, author: author, rendition: rendition)
    }

    /// Queues the job that makes the watermarked copy (unless one is already queued or running) and waits up to
    /// `wait` for it; returns whether it finished in time.
    func prepare(_ segment: Segment) async throws -> Bool {
        let jobID = try await jobs.enqueueUnlessPending(.renderDownload(segmentID: segment.id), runAt: clock.now())
        wakeWorkers()
        let deadline = ContinuousClock.now + wait
        while true {
            switch try await jobs.state(jobID: jobID) {
            case .done?, nil:
                return true
            case .failed?:
                throw EphemeraError(.unavailable, "download_unavailable", "The download could not be prepared. Try again in a minute.")
            case .queued?, .running?:
                guard ContinuousClock.now < deadline else { return false }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// A download for a client that decrypts it itself (`?encrypted=true`, the CLI): the same rules and the same
    /// watermarked copy, but the answer is the segment's key and a link to that copy's ciphertext, so the server
    /// sends (on an object store: relays) no plaintext. Counted once, unless `resuming` an interrupted one.
    public func encryptedDownload(segmentID: String, by caller: Account?, original: Bool, resuming: Bool)
        async throws -> EncryptedDownloadAnswer
    {
        switch try await download(segmentID: segmentID, by: caller, original: original) {
        case .preparing(let seconds):
            return .preparing(retryAfterSeconds: seconds)
        case .ready(let segment, let author, let rendition):
            guard let access = try await reading.mediaAccess.issue(for: segment, rendition: rendition),
                  let link = access.links[rendition]
            else { throw EphemeraError.mediaNotFound }
            if !resuming { try await countDownload(of: segment, by: caller) }
            return .ready(EncryptedDownload(access: access, link: link, rendition: rendition,
                                            filename: DownloadRules.filename(of: segment, author: author)))
        }
    }

    /// Counts one download of the segment (a resumed piece of the same download is not counted again), unless
    /// it is a moderator's, of a segment under review (`DownloadRules.isCounted`).
    public func countDownload(of segment: Segment, by caller: Account?) async throws {
        let reviewing = try await reading.isUnderReview(segment, by: caller)
        guard DownloadRules.isCounted(callerRole: caller?.role, underReview: reviewing) else { return }
        try await reading.segments.countDownload(segmentID: segment.id)
    }
}
