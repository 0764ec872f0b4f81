import Foundation

/// A comment on a segment.
public struct Comment: Sendable, Hashable {
    public var id: String
    public var segmentID: String
    public var authorID: String
    public var text: String
    public var createdAt: Instant

    public init(id: String, segmentID: String, authorID: String, text: String, createdAt: Instant) {
        self.id = id
        self.segmentID = segmentID
        self.authorID = authorID
        self.text = text
        self.createdAt = createdAt
    }

    public static let maxLength = 500

    /// The text as stored: trimmed, not blank, at most 500 characters.
    public static func validatedText(_ text: String) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw EphemeraError.badRequest("comment_empty", "A comment needs some text.")
        }
        guard trimmed.count <= maxLength else {
            throw EphemeraError.badRequest(
                "comment_too_long", "A comment may be at most \(maxLength) characters; this one has \(trimmed.count).")
        }
        return trimmed
    }

    /// Who may delete a comment: its author and the author of the story it is on.
    public static func mayDelete(_ comment: Comment, storyAuthorID: String, by accountID: String) -> Bool {
        accountID == comment.authorID || accountID == storyAuthorID
    }
}
