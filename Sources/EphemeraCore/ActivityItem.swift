/// One thing that happened to me: someone liked, reacted to, replied to, commented on or shared my story, or
/// followed me; moderators
/// took my story down or decided my appeal (the actor is then me: moderators are not named to authors).
public struct ActivityItem: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case like, comment, share, follow
        /// A quick reaction (`text`: the emoji) and a private reply (`text`: what they wrote).
        case reaction, reply
        /// Moderators removed my segment (`text`: their reason).
        case takedown
        /// My appeal was decided (`text`: the moderator's note).
        case appealRestored = "appeal_restore"
        case appealUpheld = "appeal_uphold"
    }
    public var id: String
    public var kind: Kind
    public var actorID: String
    public var segmentID: String?
    public var text: String?
    public var createdAt: Instant

    public init(id: String, kind: Kind, actorID: String, segmentID: String? = nil, text: String? = nil, createdAt: Instant) {
        self.id = id
        self.kind = kind
        self.actorID = actorID
        self.segmentID = segmentID
        self.text = text
        self.createdAt = createdAt
    }
}
