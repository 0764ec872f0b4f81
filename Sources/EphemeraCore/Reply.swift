import Foundation

/// The quick reactions a viewer can send to a segment: one of six, one per viewer, replaced by the next.
public enum QuickReaction {
    /// In the order the viewer shows them.
    public static let emoji = ["❤️", "😂", "😮", "😢", "👏", "🔥"]

    /// The reaction as stored. A heart sent without its emoji variation selector (U+FE0F), as some keyboards
    /// do, is the same heart.
    public static func validated(_ text: String) throws -> String {
        let bare = { (text: String) in String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 != "\u{FE0F}" })) }
        let wanted = bare(text.trimmingCharacters(in: .whitespacesAndNewlines))
        guard let match = emoji.first(where: { bare($0) == wanted }) else {
            throw EphemeraError.invalidValue(field: "emoji", value: String(text.prefix(20)), accepted: emoji)
        }
        return match
    }

    /// Reacting to one's own story says nothing to anyone.
    public static let ownStory = EphemeraError.badRequest("cannot_react_to_self", "You cannot react to your own story.")
}

/// A private reply to a segment: read only by the segment's author and the one who replied, and purged with
/// the segment.
public struct Reply: Sendable, Hashable {
    public var id: String
    public var segmentID: String
    /// Who replied.
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
        try WrittenText.validated(text, noun: "reply", maxLength: maxLength)
    }

    /// Replying to one's own story is not a conversation.
    public static let ownStory = EphemeraError.badRequest(
        "cannot_reply_to_self", "You cannot reply to your own story; add a comment or edit its caption instead.")

    /// Whose replies a caller reads on a segment: its author all of them, anyone else only their own (nil: all).
    public static func readableFrom(storyAuthorID: String, by accountID: String) -> String? {
        accountID == storyAuthorID ? nil : accountID
    }
}
