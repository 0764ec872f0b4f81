/// The ring around an author's avatar, for one viewer.
public enum StoryRing: String, Sendable, Hashable, Codable {
    /// No story visible to the viewer.
    case none
    /// At least one visible segment the viewer has not seen.
    case unseen
    /// Every visible segment seen.
    case seen
    /// In the tray only: the viewer muted this author. Last in the tray, and the viewer does not move on into
    /// it from another story; the author is not told.
    case muted

    public init(visibleSegments: Int, unseenSegments: Int) {
        if visibleSegments == 0 { self = .none } else if unseenSegments > 0 { self = .unseen } else { self = .seen }
    }
}

/// One author in a viewer's tray.
public struct TrayEntry: Sendable, Hashable {
    public var authorID: String
    public var latestAt: Instant
    public var segmentCount: Int
    public var unseenCount: Int
    /// When the first of these segments expires: the entry is true until then.
    public var firstExpiry: Instant?
    /// The viewer muted this author.
    public var muted: Bool

    public init(authorID: String, latestAt: Instant, segmentCount: Int, unseenCount: Int, firstExpiry: Instant? = nil,
                muted: Bool = false) {
        self.authorID = authorID
        self.latestAt = latestAt
        self.segmentCount = segmentCount
        self.unseenCount = unseenCount
        self.firstExpiry = firstExpiry
        self.muted = muted
    }

    public var ring: StoryRing {
        muted && segmentCount > 0 ? .muted : StoryRing(visibleSegments: segmentCount, unseenSegments: unseenCount)
    }
}

/// Tray order: muted authors last; before them unseen before seen, then the newest segment first; the author id
/// breaks ties so the order is stable.
public func trayOrder(_ entries: [TrayEntry]) -> [TrayEntry] {
    entries.sorted { a, b in
        if a.muted != b.muted { return b.muted }
        let aUnseen = a.unseenCount > 0, bUnseen = b.unseenCount > 0
        if aUnseen != bUnseen { return aUnseen }
        if a.latestAt != b.latestAt { return a.latestAt > b.latestAt }
        return a.authorID < b.authorID
    }
}

/// The authors a viewer moves on to at the end of `authorID`'s story, from their tray (`entries`, in `trayOrder`):
/// unseen stories first — the rest of the tray, then wrapping round to those before this one — then the seen ones
/// after it, so watching goes on while there is something new, wherever it started. Never a muted author (they
/// are watched only by opening them), and the viewer's own story only when that is where they started.
public func authorsToMoveOnTo(after authorID: String, viewerID: String, entries: [TrayEntry]) -> [String] {
    let entries = entries.filter { ($0.authorID != viewerID || authorID == viewerID) && $0.ring != .muted }
    let index = entries.firstIndex(where: { $0.authorID == authorID })
    let after = Array(index.map { entries[($0 + 1)...] } ?? entries[...])
    let before = Array(index.map { entries[..<$0] } ?? [])
    return ((after + before).filter { $0.ring == .unseen } + after.filter { $0.ring != .unseen })
        .map(\.authorID).filter { $0 != authorID }
}
