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
    return audienceAdmits(segment, viewer, graph)
}

/// Whether `viewer` may see `segment` through a highlight of its author's (API.md, "Highlights"): as in a story,
/// but past its expiry — live, expired or kept in the archive, once published — and only through the highlight
/// (the caller has checked the segment is in it). A deleted, removed or purged segment is in no highlight.
/// `SQLVisibility.predicate(viewer:now:throughHighlight:)` mirrors it.
public func isVisibleThroughHighlight(_ segment: Segment, to viewer: Viewer, at now: Instant, graph: Relations) -> Bool {
    guard HighlightRules.keptStates.contains(segment.state), !segment.isScheduled(at: now) else { return false }
    return audienceAdmits(segment, viewer, graph)
}

/// The author, or the audience the segment was posted to, without a block or a hide between them.
private func audienceAdmits(_ segment: Segment, _ viewer: Viewer, _ graph: Relations) -> Bool {
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
