import Foundation

/// An author's change to a segment already posted (`PATCH /api/v1/stories/{id}`): each field left nil stays as
/// it is. Its text is checked by the same rules as at posting.
public struct SegmentEdit: Sendable, Hashable {
    /// The new caption; an empty one removes it.
    public var caption: String?
    /// The new alt text; an empty one removes it.
    public var altText: String?
    public var audience: Audience?
    public var allowComments: Bool?
    public var allowDownloads: Bool?

    /// Checks and trims what an author sent.
    public init(caption: String? = nil, altText: String? = nil, audience: String? = nil, allowComments: Bool? = nil,
                allowDownloads: Bool? = nil) throws {
        self.caption = try caption.map { text in
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            try AccountRules.validateCaption(trimmed)
            return trimmed
        }
        self.altText = try altText.map(SegmentEdit.validatedAltText)
        self.audience = try audience.map { try Audience.parse($0) }
        self.allowComments = allowComments
        self.allowDownloads = allowDownloads
    }

    /// The longest alt text (API.md): enough to describe a picture, short enough to be read aloud.
    public static let maxAltTextLength = 1000

    /// Alt text trimmed and checked (at posting and editing alike); an empty one means none.
    public static func validatedAltText(_ text: String) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count <= maxAltTextLength else {
            throw EphemeraError.badRequest(
                "alt_text_too_long", "Alt text may be at most \(maxAltTextLength) characters; this has \(trimmed.count).")
        }
        return trimmed
    }

    /// Whether a segment in `state` may be edited: from posting until it leaves the author's reads (deleted,
    /// removed by a moderator, failed or being purged ones are not edited).
    public static func isEditable(_ state: SegmentState) -> Bool {
        switch state {
        case .processing, .live, .expired, .archived: true
        case .deleted, .purging, .purged, .removed, .failed: false
        }
    }

    /// The refusal for a segment that cannot be edited now.
    public static let notEditable = EphemeraError.conflict(
        "not_editable", "Only a story that is live, still processing or in your archive can be edited.")

    /// `segment` with this edit applied.
    public func applied(to segment: Segment) -> Segment {
        var edited = segment
        if let caption { edited.caption = caption.isEmpty ? nil : caption }
        if let altText { edited.altText = altText.isEmpty ? nil : altText }
        if let audience { edited.audience = audience }
        if let allowComments { edited.allowComments = allowComments }
        if let allowDownloads { edited.allowDownloads = allowDownloads }
        return edited
    }
}
