/// What kind of work a job is; stored in the `jobs` table's `kind` column.
public enum JobKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// Turn an upload into live segments (probe, transcode, encrypt, store).
    case processUpload = "process_upload"
    /// Make and store the watermarked download rendition of a segment.
    case renderDownload = "render_download"
    /// Run the purge of a segment, step by step.
    case purgeSegment = "purge_segment"
    /// Remove an account once all its segments are purged.
    case deleteAccount = "delete_account"

    /// The lane that runs it: media work one at a time (at most one encode runs, so the HTTP side stays fast),
    /// deletions beside it so a long encode never holds a purge back.
    public var lane: JobLane {
        switch self {
        case .processUpload, .renderDownload: .media
        case .purgeSegment, .deleteAccount: .deletion
        }
    }

    /// How many runs before it fails for good. Deletions keep trying (they must finish); media gives up and
    /// tells the author.
    public var maxAttempts: Int {
        switch self {
        case .processUpload, .renderDownload: 3
        case .purgeSegment, .deleteAccount: 1000
        }
    }
}

/// A group of job kinds that one worker loop claims from.
public enum JobLane: String, Sendable, Hashable, CaseIterable {
    case media, deletion

    public var kinds: [JobKind] { JobKind.allCases.filter { $0.lane == self } }
}

/// Where a job stands.
public enum JobState: String, Sendable, Hashable, Codable {
    case queued, running, done, failed
}

/// One unit of durable background work, typed: its kind and what it is about. Stored as `kind` plus a JSON
/// payload naming the subject (`{"segmentID": "…"}`), never a bare id.
public enum Job: Sendable, Hashable {
    case processUpload(uploadID: String)
    case renderDownload(segmentID: String)
    case purgeSegment(segmentID: String)
    case deleteAccount(accountID: String)

    public var kind: JobKind {
        switch self {
        case .processUpload: .processUpload
        case .renderDownload: .renderDownload
        case .purgeSegment: .purgeSegment
        case .deleteAccount: .deleteAccount
        }
    }

    /// The payload as stored.
    public var payload: Payload {
        switch self {
        case .processUpload(let id): Payload(uploadID: id)
        case .renderDownload(let id), .purgeSegment(let id): Payload(segmentID: id)
        case .deleteAccount(let id): Payload(accountID: id)
        }
    }

    /// The job stored as `kind` with `payload`; nil when the payload lacks what the kind needs.
    public init?(kind: JobKind, payload: Payload) {
        switch kind {
        case .processUpload: guard let id = payload.uploadID else { return nil }; self = .processUpload(uploadID: id)
        case .renderDownload: guard let id = payload.segmentID else { return nil }; self = .renderDownload(segmentID: id)
        case .purgeSegment: guard let id = payload.segmentID else { return nil }; self = .purgeSegment(segmentID: id)
        case .deleteAccount: guard let id = payload.accountID else { return nil }; self = .deleteAccount(accountID: id)
        }
    }

    /// A job's stored payload: the ids it is about.
    public struct Payload: Sendable, Hashable, Codable {
        public var uploadID: String?
        public var segmentID: String?
        public var accountID: String?

        public init(uploadID: String? = nil, segmentID: String? = nil, accountID: String? = nil) {
            self.uploadID = uploadID
            self.segmentID = segmentID
            self.accountID = accountID
        }
    }
}
