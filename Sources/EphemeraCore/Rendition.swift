/// A stored derivative of a segment, served at `/media/{id}/{rendition}`. Only these are ever served: never
/// the uploaded bytes.
public enum Rendition: String, Sendable, Hashable, CaseIterable {
    case video = "video.mp4"
    case poster = "poster.jpg"
    case photo = "photo.jpg"
    /// The watermarked copies handed out by the download endpoint (never served at `/media`).
    case downloadVideo = "download.mp4"
    case downloadPhoto = "download.jpg"

    /// The fixed Content-Type it is served with.
    public var contentType: String {
        switch self {
        case .video, .downloadVideo: "video/mp4"
        case .poster, .photo, .downloadPhoto: "image/jpeg"
        }
    }

    /// The watermarked download of a segment of `kind`, and the rendition it is made from.
    public static func download(of kind: SegmentKind) -> (download: Rendition, source: Rendition) {
        kind == .video ? (.downloadVideo, .video) : (.downloadPhoto, .photo)
    }

    /// The mark burnt into downloads: who posted it, and where from.
    public static func watermark(handle: String) -> String { "@\(handle) · Ephemera" }

    /// The renditions a segment of `kind` has.
    public static func renditions(of kind: SegmentKind) -> [Rendition] {
        switch kind {
        case .video: [.video, .poster]
        case .photo: [.photo]
        }
    }
}

/// The rules of downloads.
public enum DownloadRules {
    /// Seconds a client waits before asking again for a download being prepared.
    public static let retryAfterSeconds = 2

    /// What `caller` downloads of `segment`: the author the unmarked rendition with `original` (in a state they
    /// can download), anyone else the watermarked copy, if the author allows downloads.
    public static func rendition(of segment: Segment, for caller: String?, original: Bool, author: Account) throws -> Rendition {
        let isAuthor = caller == segment.authorID
        guard !isAuthor || segment.state.isDownloadableByAuthor else {
            throw EphemeraError.conflict("not_downloadable", "Only a live or archived segment can be downloaded.")
        }
        if original && !isAuthor { throw EphemeraError.notTheAuthor }
        if !isAuthor && !segment.downloadsAllowed(author: author) {
            throw EphemeraError(.forbidden, "downloads_disabled", "@\(author.handle) does not allow downloads of this story.")
        }
        let (watermarked, source) = Rendition.download(of: segment.kind)
        return original ? source : watermarked
    }

    /// Whether a download adds to the segment's download count: one by a moderator of a segment under review
    /// (reported, or taken down and appealed) is part of the review, not a download by its audience.
    public static func isCounted(callerRole: Role?, underReview: Bool) -> Bool {
        !(underReview && callerRole.map(ModerationRules.canModerate) == true)
    }

    /// The name a download is saved under: whose story, which segment, the file type.
    public static func filename(of segment: Segment, author: Account) -> String {
        "ephemera-\(author.handle)-\(segment.id).\(segment.kind == .video ? "mp4" : "jpg")"
    }
}
