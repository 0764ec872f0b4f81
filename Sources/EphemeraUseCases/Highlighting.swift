import EphemeraCore
import EphemeraStore

/// A highlight as a caller sees it: how many of its segments they see, and the one that stands for it.
public struct HighlightSummary: Sendable, Hashable {
    public var highlight: Highlight
    public var segmentCount: Int
    public var cover: Segment?
}

/// A highlight opened: its owner and the segments the caller sees through it, in order.
public struct HighlightView: Sendable, Hashable {
    public var summary: HighlightSummary
    public var owner: Account
    public var segments: [SegmentView]
}

/// Highlights (API.md, "Highlights"): an author keeps segments on their profile past their 24 hours, and their
/// audience reads them there — through the highlight only (`isVisibleThroughHighlight`).
public struct Highlighting: Sendable {
    let highlights: SQLHighlightStore
    let segments: SQLSegmentStore
    let graph: SQLGraphStore
    let accounts: SQLAccountStore
    let reading: Reading
    let clock: any EphemeraClock

    public init(highlights: SQLHighlightStore, segments: SQLSegmentStore, graph: SQLGraphStore, accounts: SQLAccountStore,
                reading: Reading, clock: any EphemeraClock) {
        self.highlights = highlights
        self.segments = segments
        self.graph = graph
        self.accounts = accounts
        self.reading = reading
        self.clock = clock
    }

    public static let notFound = EphemeraError(
        .notFound, "highlight_not_found", "There is no highlight with that id, or you cannot see it.")
    public static let full = EphemeraError.conflict(
        "too_many_highlights", "You have \(HighlightRules.maxHighlights) highlights already; delete one to make another.")

    public func create(title: String, segmentIDs: [String], cover: String?, by owner: Account) async throws -> HighlightView {
        let title = try HighlightRules.validatedTitle(title)
        let ids = try await holdable(try HighlightRules.validatedSegmentList(segmentIDs), by: owner)
        let now = clock.now()
        let highlight = Highlight(id: IDs.make(), ownerID: owner.id, title: title,
                                  coverSegmentID: try HighlightRules.validatedCover(cover, among: ids), position: 0,
                                  createdAt: now, updatedAt: now, segmentIDs: ids)
        guard try await highlights.create(highlight) != nil else { throw Self.full }
        return try await read(highlight.id, by: owner)
    }

    /// `ids` when each may go in a highlight of `owner`'s; else the first that may not is named.
    func holdable(_ ids: [String], by owner: Account) async throws -> [String] {
        let found = try await segments.segments(ids: ids)
        let now = clock.now()
        for id in ids {
            guard let segment = found[id], HighlightRules.mayHold(segment, ownerID: owner.id, at: now) else {
                throw HighlightRules.cannotHold(id)
            }
        }
        return ids
    }

    /// `user`'s highlights in their order, those with at least one segment `caller` sees (an empty highlight is
    /// not shown).
    public func list(of user: Account, for caller: Account?) async throws -> [HighlightSummary] {
        try await highlights.highlights(ownerID: user.id, viewer: caller?.id, now: clock.now()).compactMap { entry in
            guard !entry.visible.isEmpty else { return nil }
            return Self.summary(entry.highlight, visible: entry.visible)
        }
    }

    /// All my highlights with every segment listed in each, empty ones too (my export).
    public func own(of me: Account) async throws -> [Highlight] {
        try await highlights.highlights(ownerID: me.id, viewer: me.id, now: clock.now()).map(\.highlight)
    }

    static func summary(_ highlight: Highlight, visible: [Segment]) -> HighlightSummary {
        let cover = HighlightRules.shownCover(chosen: highlight.coverSegmentID, readable: visible.map(\.id))
        return HighlightSummary(highlight: highlight, segmentCount: visible.count,
                                cover: visible.first { $0.id == cover })
    }

    /// The highlight with the segments `caller` sees through it. Its owner opens it even when nothing in it is
    /// readable any more (to fix or delete it); anyone else gets `highlight_not_found` then, as for one that
    /// does not exist.
    public func read(_ id: String, by caller: Account?) async throws -> HighlightView {
        guard let highlight = try await highlights.highlight(id: id),
              let owner = try await accounts.account(id: highlight.ownerID)
        else { throw Self.notFound }
        let visible = try await highlights.visibleSegments(highlightID: id, viewer: caller?.id, now: clock.now())
        guard !visible.isEmpty || caller?.id == owner.id else { throw Self.notFound }
        let views = try await reading.views(of: visible, for: Viewer(accountID: caller?.id))
        return HighlightView(summary: Self.summary(highlight, visible: visible), owner: owner, segments: views)
    }

    /// The owner's highlight `id`; anyone else's is `highlight_not_found`, as one that does not exist.
    func owned(_ id: String, by owner: Account) async throws -> Highlight {
        guard let highlight = try await highlights.highlight(id: id), highlight.ownerID == owner.id else { throw Self.notFound }
        return highlight
    }

    /// Changes what is given: the title, the list of segments (its order too), the cover (`.some(nil)`: the first).
    public func update(_ id: String, title: String?, segmentIDs: [String]?, cover: String??, by owner: Account) async throws
        -> HighlightView
    {
        let highlight = try await owned(id, by: owner)
        let title = try title.map(HighlightRules.validatedTitle)
        var ids: [String]?
        if let segmentIDs { ids = try await holdable(try HighlightRules.validatedSegmentList(segmentIDs), by: owner) }
        let list = ids ?? highlight.segmentIDs
        var newCover: String?? = nil
        if let cover {
            newCover = .some(try HighlightRules.validatedCover(cover, among: list))
        } else if let chosen = highlight.coverSegmentID, !list.contains(chosen) {
            newCover = .some(nil)  // The cover left the list: the first segment stands for it now.
        }
        try await highlights.update(id: id, title: title, cover: newCover, segmentIDs: ids, now: clock.now())
        return try await read(id, by: owner)
    }

    /// Puts the owner's highlights in the order of `ids`, which must name each of them once.
    public func reorder(_ ids: [String], by owner: Account) async throws {
        let order = try HighlightRules.validatedOrder(ids, current: try await highlights.order(ownerID: owner.id))
        try await highlights.reorder(ownerID: owner.id, ids: order)
    }

    public func delete(_ id: String, by owner: Account) async throws {
        _ = try await owned(id, by: owner)
        try await highlights.delete(id: id)
    }

    /// The segment whose `rendition` `caller` may fetch through highlight `highlightID` (`/media/…?highlight=`):
    /// it is in the highlight and visible through it; else `media_not_found`.
    public func segmentForMedia(_ segmentID: String, rendition: Rendition, highlightID: String, by caller: Account?)
        async throws -> Segment
    {
        guard let highlight = try await highlights.highlight(id: highlightID), highlight.segmentIDs.contains(segmentID),
              let segment = try await segments.segment(id: segmentID), segment.authorID == highlight.ownerID,
              segment.mediaTag != nil, Rendition.renditions(of: segment.kind).contains(rendition)
        else { throw EphemeraError.mediaNotFound }
        let relations = try await graph.relations(viewer: caller?.id, author: segment.authorID)
        guard isVisibleThroughHighlight(segment, to: Viewer(accountID: caller?.id), at: clock.now(), graph: relations)
        else { throw EphemeraError.mediaNotFound }
        return segment
    }
}
