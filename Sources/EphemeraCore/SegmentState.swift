/// Where a segment is in its life (DESIGN.md, "The segment lifecycle").
public enum SegmentState: String, Sendable, Hashable, CaseIterable, Codable {
    case processing, live, expired, archived, deleted, purging, purged, removed, failed
}

extension SegmentState {
    /// Whether stored renditions exist in this state (and so may be served to whoever may read the segment).
    public var hasMedia: Bool {
        switch self {
        case .live, .expired, .archived, .deleted, .removed: true
        case .processing, .purging, .purged, .failed: false
        }
    }

    /// Whether the author may download the segment in this state (not while it waits in recently deleted or
    /// is taken down).
    public var isDownloadableByAuthor: Bool {
        switch self {
        case .live, .expired, .archived: true
        default: false
        }
    }
}

/// Something that happens to a segment.
public enum LifecycleEvent: String, Sendable, Hashable, CaseIterable {
    /// Processing finished and the media is stored.
    case processed
    /// Processing failed for good.
    case processingFailed
    /// `expiresAt` has passed (the sweeper tidies state; visibility never waits for it).
    case expire
    /// The expired segment is kept in the author's private archive.
    case archive
    /// The author deleted it.
    case delete
    /// The author restored it within the window.
    case restore
    /// Purge began (window over, permanent delete, account deletion, expiry without archive).
    case beginPurge
    /// Every purge step is done; only a tombstone remains.
    case finishPurge
    /// A moderator took it down.
    case takedown
    /// An appeal was granted.
    case reinstate
}

/// The one state machine of a segment. Pure: given a state, an event and whether the segment is past its
/// `expiresAt`, it answers the next state or refuses.
public enum Lifecycle {
    /// The state after `event`, or `nil` when `event` is not allowed in `state`.
    /// - Parameter expired: whether `now >= expiresAt`; decides where a restore or reinstatement lands.
    public static func next(after state: SegmentState, on event: LifecycleEvent, expired: Bool) -> SegmentState? {
        switch (state, event) {
        case (.processing, .processed): return .live
        case (.processing, .processingFailed): return .failed
        case (.live, .expire): return .expired
        case (.expired, .archive): return .archived
        case (.live, .delete), (.expired, .delete), (.archived, .delete): return .deleted
        case (.deleted, .restore): return expired ? .archived : .live
        case (.deleted, .beginPurge), (.expired, .beginPurge), (.failed, .beginPurge),
             (.archived, .beginPurge), (.removed, .beginPurge), (.live, .beginPurge),
             (.processing, .beginPurge):
            return .purging
        case (.purging, .beginPurge): return .purging
        case (.purging, .finishPurge): return .purged
        case (.live, .takedown), (.expired, .takedown), (.archived, .takedown): return .removed
        case (.removed, .reinstate): return expired ? .archived : .live
        default: return nil
        }
    }

    /// What becomes of an `expired` segment: the author's private archive when they keep one or it is in one of
    /// their highlights (which keep it on their profile), else the purge.
    public static func afterExpiry(keepsArchive: Bool, inHighlight: Bool = false) -> LifecycleEvent {
        keepsArchive || inHighlight ? .archive : .beginPurge
    }

    /// Like `next(after:on:expired:)`, but throws a conflict a person can read when the move is not allowed.
    public static func apply(_ event: LifecycleEvent, to state: SegmentState, expired: Bool) throws -> SegmentState {
        guard let next = next(after: state, on: event, expired: expired) else {
            throw EphemeraError.conflict(
                "invalid_state", "This story segment is \(state.rawValue); it cannot be \(event.pastTense) now.")
        }
        return next
    }
}

extension LifecycleEvent {
    var pastTense: String {
        switch self {
        case .processed: "marked processed"
        case .processingFailed: "marked failed"
        case .expire: "expired"
        case .archive: "archived"
        case .delete: "deleted"
        case .restore: "restored"
        case .beginPurge, .finishPurge: "purged"
        case .takedown: "taken down"
        case .reinstate: "reinstated"
        }
    }
}
