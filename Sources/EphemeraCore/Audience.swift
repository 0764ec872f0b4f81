/// Who may see a segment besides its author.
public enum Audience: String, Sendable, Hashable, CaseIterable, Codable {
    case `public`
    case followers
    case closeFriends

    /// Parses an API value, or throws a 400 naming the accepted values.
    public static func parse(_ value: String, field: String = "audience") throws -> Audience {
        guard let audience = Audience(rawValue: value) else {
            throw EphemeraError.invalidValue(field: field, value: value, accepted: allCases.map(\.rawValue))
        }
        return audience
    }
}

/// Whether a segment is a photo or a video.
public enum SegmentKind: String, Sendable, Hashable, Codable, CaseIterable {
    case photo, video
}
