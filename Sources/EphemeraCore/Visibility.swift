/// Who is asking. `accountID` is nil when signed out.
public struct Viewer: Sendable, Hashable {
    public var accountID: String?
    public init(accountID: String?) { self.accountID = accountID }
    public static let signedOut = Viewer(accountID: nil)
}

/// The relations between a viewer and an author that visibility depends on.
public struct Relations: Sendable, Hashable {
    /// Either side blocked the other.
    public var blocked: Bool
    /// The author hid their stories from the viewer.
    public var hiddenFromViewer: Bool
    public var viewerFollowsAuthor: Bool
    /// The viewer is on the author's close-friends list.
    public var viewerIsCloseFriend: Bool

    public init(blocked: Bool = false, hiddenFromViewer: Bool = false, viewerFollowsAuthor: Bool = false,
                viewerIsCloseFriend: Bool = false) {
        self.blocked = blocked
        self.hiddenFromViewer = hiddenFromViewer
        self.viewerFollowsAuthor = viewerFollowsAuthor
        self.viewerIsCloseFriend = viewerIsCloseFriend
    }

    public static let none = Relations()
}

/// Whether `viewer` may see `segment` in a story at `now`. Every read path asks this, and the SQL predicate in
/// EphemeraStore (`SQLVisibility`) mirrors it, checked by `VisibilityAgreementTests`. The author's archive and
/// recently-deleted lists are separate, author-only reads.
public func isVisible(_ segment: Segment, to viewer: Viewer, at now: Instant, graph: Relations) -> Bool {
    guard segment.state == .live, now < segment.expiresAt, !segment.isScheduled(at: now) else { return false }
    if viewer.accountID == segment.authorID { return true }
    guard viewer.accountID != nil || segment.audience == .public else { return false }
    guard !graph.blocked, !graph.hiddenFromViewer else { return false }
    switch segment.audience {
    case .public: return true
    case .followers: return graph.viewerFollowsAuthor
    case .closeFriends: return graph.viewerIsCloseFriend
    }
}

/// Whether the author may read this segment (`GET /stories/{id}`, its media, their export): in any state until
/// it is purged, unless they deleted it while a legal hold keeps it.
public func isReadableByAuthor(_ segment: Segment, viewer: Viewer) -> Bool {
    viewer.accountID == segment.authorID && segment.state != .purged && segment.state != .purging
        && segment.discardedAt == nil
}
