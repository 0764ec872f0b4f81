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
