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
        try WrittenText.validated(text, noun: "comment", maxLength: maxLength)
    }

    /// Who may delete a comment: its author and the author of the story it is on.
    public static func mayDelete(_ comment: Comment, storyAuthorID: String, by accountID: String) -> Bool {
        accountID == comment.authorID || accountID == storyAuthorID
    }
}

/// What people write to each other (comments, private replies), checked one way.
public enum WrittenText {
    /// `text` trimmed; refused when blank (`NOUN_empty`) or longer than `maxLength` (`NOUN_too_long`).
    public static func validated(_ text: String, noun: String, maxLength: Int) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        // Whole sentences for each noun, so that every language can say them (a word spliced in cannot agree).
        let isReply = noun == "reply"
        guard !trimmed.isEmpty else {
            throw EphemeraError.badRequest("\(noun)_empty", isReply ? "A reply needs some text." : "A comment needs some text.")
        }
        guard trimmed.count <= maxLength else {
            throw EphemeraError.badRequest("\(noun)_too_long", isReply
                ? "A reply may be at most \(maxLength) characters; this one has \(trimmed.count)."
                : "A comment may be at most \(maxLength) characters; this one has \(trimmed.count).")
        }
        return trimmed
    }
}
