/// What a share link (`/s/{code}`) answers.
public enum ShareLinkAnswer: Sendable, Hashable {
    /// The public page with the segment.
    case show
    /// 404: nothing here for this caller (as for a code that never existed).
    case notFound
    /// 410: it is gone, and this caller could have seen it before it went.
    case gone(ShareGoneReason)
}

/// Why a shared segment is gone.
public enum ShareGoneReason: Sendable, Hashable {
    case deleted, removed
}

/// The rules of share links (API.md, "Changed behaviour"): a link never reveals that a hidden story existed.
public enum ShareRules {
    /// The answer for a segment that still has its row: shown when visible; 410 when deleted, being purged
    /// or taken down and the caller could have seen it before it went (its audience and relations evaluated
    /// as if it were still live); otherwise 404.
    public static func answer(for segment: Segment, to viewer: Viewer, at now: Instant, graph: Relations) -> ShareLinkAnswer {
        if isVisible(segment, to: viewer, at: now, graph: graph) { return .show }
        let reason: ShareGoneReason
        switch segment.state {
        case .deleted, .purging, .purged: reason = .deleted
        case .removed: reason = .removed
        case .processing, .live, .expired, .archived, .failed: return .notFound
        }
        var asIfLive = segment
        asIfLive.state = .live
        asIfLive.expiresAt = max(segment.expiresAt, now + .milliseconds(1))
        return isVisible(asIfLive, to: viewer, at: now, graph: graph) ? .gone(reason) : .notFound
    }

    /// The answer once only the tombstone is left: no author and no relations remain to evaluate, so only a
    /// segment that was public (anyone could see it) answers 410; any other answers 404 to everyone.
    public static func answerForPurged(wasPublic: Bool) -> ShareLinkAnswer {
        wasPublic ? .gone(.deleted) : .notFound
    }
}
