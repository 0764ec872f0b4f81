/// The ring around an author's avatar, for one viewer.
public enum StoryRing: String, Sendable, Hashable, Codable {
    /// No story visible to the viewer.
    case none
    /// At least one visible segment the viewer has not seen.
    case unseen
    /// Every visible segment seen.
    case seen

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

    public init(authorID: String, latestAt: Instant, segmentCount: Int, unseenCount: Int, firstExpiry: Instant? = nil) {
        self.authorID = authorID
        self.latestAt = latestAt
        self.segmentCount = segmentCount
        self.unseenCount = unseenCount
        self.firstExpiry = firstExpiry
    }

    public var ring: StoryRing { StoryRing(visibleSegments: segmentCount, unseenSegments: unseenCount) }
}

/// Tray order: unseen before seen, then the newest segment first; the author id breaks ties so the order is stable.
public func trayOrder(_ entries: [TrayEntry]) -> [TrayEntry] {
    entries.sorted { a, b in
        let aUnseen = a.unseenCount > 0, bUnseen = b.unseenCount > 0
        if aUnseen != bUnseen { return aUnseen }
        if a.latestAt != b.latestAt { return a.latestAt > b.latestAt }
        return a.authorID < b.authorID
    }
}
