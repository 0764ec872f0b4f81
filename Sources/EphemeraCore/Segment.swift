/// One photo or one video of at most the configured length; an author's live segments form their story.
public struct Segment: Sendable, Hashable {
    public var id: String
    public var authorID: String
    public var kind: SegmentKind
    public var state: SegmentState
    public var audience: Audience
    public var caption: String?
    public var createdAt: Instant
    public var expiresAt: Instant
    /// Length in milliseconds (0 for photos until shown; photos are shown for `Segment.photoDisplaySeconds`).
    public var durationMilliseconds: Int64
    public var width: Int
    public var height: Int
    public var failureReason: String?
    public var deletedAt: Instant?
    public var restorableUntil: Instant?
    /// Content tag of the stored renditions, used for ETags; changes whenever the media is rewritten.
    public var mediaTag: String?
    /// The upload this segment came from, and its position there (a split video gives several segments).
    public var uploadID: String
    public var position: Int
    public var viewCount: Int
    public var likeCount: Int
    public var commentCount: Int
    public var shareCount: Int
    public var downloadCount: Int
    /// When the author deleted it while a legal hold kept it: from then on it is gone from their reads too,
    /// though it is kept (hidden from everyone) until the hold ends.
    public var discardedAt: Instant?
    /// What the picture shows, for screen readers (`alt`, `aria-label`); set at posting or by editing.
    public var altText: String?
    /// The author's choice for this segment alone; nil follows their account setting (`commentsAllowed`).
    public var allowComments: Bool?
    /// The author's choice for this segment alone; nil follows their account setting (`downloadsAllowed`).
    public var allowDownloads: Bool?
    /// When a scheduled segment goes live; until then only its author reads it (`StorySchedule`).
    public var publishAt: Instant?

    public init(
        id: String, authorID: String, kind: SegmentKind, state: SegmentState, audience: Audience,
        caption: String?, createdAt: Instant, expiresAt: Instant, durationMilliseconds: Int64 = 0,
        width: Int = 0, height: Int = 0, failureReason: String? = nil, deletedAt: Instant? = nil,
        restorableUntil: Instant? = nil, mediaTag: String? = nil, uploadID: String, position: Int = 0,
        viewCount: Int = 0, likeCount: Int = 0, commentCount: Int = 0, shareCount: Int = 0, downloadCount: Int = 0,
        discardedAt: Instant? = nil, altText: String? = nil, allowComments: Bool? = nil, allowDownloads: Bool? = nil,
        publishAt: Instant? = nil
    ) {
        self.id = id
        self.authorID = authorID
        self.kind = kind
        self.state = state
        self.audience = audience
        self.caption = caption
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.durationMilliseconds = durationMilliseconds
        self.width = width
        self.height = height
        self.failureReason = failureReason
        self.deletedAt = deletedAt
        self.restorableUntil = restorableUntil
        self.mediaTag = mediaTag
        self.uploadID = uploadID
        self.position = position
        self.viewCount = viewCount
        self.likeCount = likeCount
        self.commentCount = commentCount
        self.shareCount = shareCount
        self.downloadCount = downloadCount
        self.discardedAt = discardedAt
        self.altText = altText
        self.allowComments = allowComments
        self.allowDownloads = allowDownloads
        self.publishAt = publishAt
    }

    /// Whether it waits for its `publishAt` at `now`.
    public func isScheduled(at now: Instant) -> Bool { publishAt.map { now < $0 } ?? false }

    /// Whether others may comment: the segment's own choice, else its author's setting.
    public func commentsAllowed(author: Account) -> Bool { allowComments ?? author.settings.allowComments }

    /// Whether others may download it: the segment's own choice, else its author's setting.
    public func downloadsAllowed(author: Account) -> Bool { allowDownloads ?? author.settings.allowDownloads }

    /// When a segment posted (or scheduled to go live) at `postedAt` leaves every read: its lifetime later.
    public static func expiry(postedAt: Instant, lifetime: Duration) -> Instant { postedAt + lifetime }

    /// How long a photo stays on screen in the viewer.
    public static let photoDisplaySeconds = 5.0

    public func isExpired(at now: Instant) -> Bool { now >= expiresAt }
}

/// `GET /api/v1/stories/{id}?wait=N`: how long a request may be held while its segment is still processing, so a
/// client learns the moment it is live (or failed) without polling.
public enum ProcessingWait {
    public static let maxSeconds = 30

    /// The seconds asked for (1–30), nil when not asked; anything else is a 400 `invalid_wait`.
    public static func seconds(_ text: String?) throws -> Int? {
        guard let text else { return nil }
        guard let seconds = Int(text), (1...maxSeconds).contains(seconds) else {
            throw EphemeraError.badRequest("invalid_wait", "wait is a whole number of seconds from 1 to \(maxSeconds).")
        }
        return seconds
    }
}
