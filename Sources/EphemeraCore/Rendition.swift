/// A stored derivative of a segment, served at `/media/{id}/{rendition}`. Only these are ever served: never
/// the uploaded bytes.
public enum Rendition: String, Sendable, Hashable, CaseIterable {
    case video = "video.mp4"
    case poster = "poster.jpg"
    case photo = "photo.jpg"

    /// The fixed Content-Type it is served with.
    public var contentType: String {
        switch self {
        case .video: "video/mp4"
        case .poster, .photo: "image/jpeg"
        }
    }

    /// The renditions a segment of `kind` has.
    public static func renditions(of kind: SegmentKind) -> [Rendition] {
        switch kind {
        case .video: [.video, .poster]
        case .photo: [.photo]
        }
    }
}
