import EphemeraCore
import EphemeraStore

/// A segment with what a reader sees beside it: its author, and whether the reader has seen and liked it.
public struct SegmentView: Sendable, Hashable {
    public var segment: Segment
    public var author: Account
    public var seen: Bool
    public var liked: Bool
    /// The reader's quick reaction, if any.
    public var reaction: String?
    /// How many reactions it has: for its author only.
    public var reactionCount: Int?
    /// It waits for its `publishAt` (shown to its author as `scheduled`).
    public var scheduled: Bool = false
    /// The key and ciphertext links, for a caller who may see it (every view is made for such a caller).
    public var access: MediaAccess?
}

/// A profile as one caller sees it.
public struct Profile: Sendable, Hashable {
    public var account: Account
    public var followerCount: Int
    public var followingCount: Int
    public var ring: StoryRing
    public var followedByCaller: Bool
    /// Whether the caller muted this account (theirs to know; the account is not told).
    public var mutedByCaller: Bool
}

/// Reading segments: the one place that decides whether a caller may read a segment (by the visibility rule,
/// as its author, or as a moderator reviewing it), for the API, the web pages, share links, media and downloads.
public struct Reading: Sendable {
    let segments: SQLSegmentStore
    let graph: SQLGraphStore
    let moderation: SQLModerationStore
    let accounts: SQLAccountStore
    let interactions: SQLInteractionStore
    let profileViews: SQLProfileViewStore
    let clock: any EphemeraClock

    /// Keys and ciphertext links for the segments a caller is shown.
    public let mediaAccess: MediaAccessIssuer
    public init(segments: SQLSegmentStore, graph: SQLGraphStore, moderation: SQLModerationStore,
                accounts: SQLAccountStore, interactions: SQLInteractionStore, profileViews: SQLProfileViewStore,
                mediaAccess: MediaAccessIssuer, clock: any EphemeraClock) {
        self.mediaAccess = mediaAccess
        self.profileViews = profileViews
        self.segments = segments
        self.graph = graph
        self.moderation = moderation
        self.accounts = accounts
        self.interactions = interactions
        self.clock = clock
    }

    /// The segment if `caller` may read it: visible by the one visibility rule, or theirs until purged (unless
    /// they deleted it under a legal hold), or under review and the caller a moderator. Anything else is the
    /// same `story_not_found` as a segment that does not exist.
    public func readableSegment(_ id: String, by caller: Account?) async throws -> Segment {
        guard let segment = try await segments.segment(id: id) else { throw EphemeraError.storyNotFound }
        let viewer = Viewer(accountID: caller?.id)
        if isReadableByAuthor(segment, viewer: viewer) { return segment }
        if try await isUnderReview(segment, by: caller) { return segment }
        guard try await isVisible(segment, to: viewer) else { throw EphemeraError.storyNotFound }
        return segment
    }

    /// The segment if it is visible to `caller` by the one visibility rule (no author or moderator exception).
    public func visibleSegment(_ id: String, by caller: Account?) async throws -> Segment {
        guard let segment = try await segments.segment(id: id),
              try await isVisible(segment, to: Viewer(accountID: caller?.id))
        else { throw EphemeraError.storyNotFound }
        return segment
    }

    /// The segment whose `rendition` `caller` may fetch: its author while it has media, whoever may see it,
    /// or a moderator reviewing it; else `media_not_found`.
    public func segmentForMedia(_ id: String, rendition: Rendition, by caller: Account?) async throws -> Segment {
        guard let segment = try await segments.segment(id: id), Rendition.renditions(of: segment.kind).contains(rendition),
              segment.mediaTag != nil
        else { throw EphemeraError.mediaNotFound }
        let viewer = Viewer(accountID: caller?.id)
        if viewer.accountID == segment.authorID {
            guard isReadableByAuthor(segment, viewer: viewer), segment.state.hasMedia else { throw EphemeraError.mediaNotFound }
            return segment
        }
        if try await isVisible(segment, to: viewer) { return segment }
        guard try await isUnderReview(segment, by: caller) else { throw EphemeraError.mediaNotFound }
        return segment
    }

    /// Moderators see any segment under review (reported, or removed), whatever its audience.
    public func isUnderReview(_ segment: Segment, by account: Account?) async throws -> Bool {
        guard let account, ModerationRules.canModerate(account.role) else { return false }
        return try await moderation.isUnderReview(segment)
    }

    /// `isVisible` with the relations read for this viewer and author, at the clock's now.
    public func isVisible(_ segment: Segment, to viewer: Viewer) async throws -> Bool {
        let relations = try await graph.relations(viewer: viewer.accountID, author: segment.authorID)
        return EphemeraCore.isVisible(segment, to: viewer, at: clock.now(), graph: relations)
    }

    /// The segments with their authors and whether `viewer` has seen and liked each; a segment whose author
    /// cannot be named (a deleted account) is left out.
    public func views(of list: [Segment], for viewer: Viewer) async throws -> [SegmentView] {
        async let authors = accounts.accounts(ids: Set(list.map(\.authorID)))
        async let seen = segments.seen(by: viewer.accountID, among: list.map(\.id))
        async let liked = interactions.liked(by: viewer.accountID, among: list.map(\.id))
        async let access = mediaAccess.issue(for: list)
        async let reactions = interactions.reactions(among: list.map(\.id), viewer: viewer.accountID)
        let (authorsByID, seenIDs, likedIDs, accessByID) = try await (authors, seen, liked, access)
        let reacted = try await reactions
        let now = clock.now()
        return list.compactMap { segment in
            authorsByID[segment.authorID].map {
                SegmentView(segment: segment, author: $0, seen: seenIDs.contains(segment.id), liked: likedIDs.contains(segment.id),
                            reaction: reacted[segment.id]?.mine,
                            reactionCount: segment.authorID == viewer.accountID ? reacted[segment.id]?.count ?? 0 : nil,
                            scheduled: segment.state == .live && segment.isScheduled(at: now),
                            access: accessByID[segment.id])
            }
        }
    }

    /// `user`'s profile as `caller` sees it. Opening a profile (`recordingView`) records a profile view when both
    /// sides opted in; listing it among followers does not.
    public func profile(of user: Account, for caller: Account?, recordingView: Bool = true) async throws -> Profile {
        let now = clock.now()
        async let followers = graph.followerCount(user.id)
        async let following = graph.followingCount(user.id)
        async let ring = segments.ring(authorID: user.id, viewer: caller?.id, now: now)
        async let relations = graph.relations(viewer: caller?.id, author: user.id)
        async let muted = isMuted(user, by: caller)
        if recordingView, let caller, isProfileViewRecorded(viewer: caller, profile: user) {
            try await profileViews.record(viewer: caller.id, profile: user.id, at: now)
        }
        return Profile(account: user, followerCount: try await followers, followingCount: try await following,
                       ring: try await ring, followedByCaller: try await relations.viewerFollowsAuthor,
                       mutedByCaller: try await muted)
    }

    /// Whether `caller` muted `user`.
    public func isMuted(_ user: Account, by caller: Account?) async throws -> Bool {
        guard let caller, caller.id != user.id else { return false }
        return try await graph.hasMuted(caller.id, user.id)
    }

    // MARK: People and lists

    /// The account with `handle` as `caller` may find it: not when a block stands between them.
    public func user(handle: String, for caller: Account?) async throws -> Account {
        guard let user = try await accounts.account(handle: handle.lowercased()) else { throw EphemeraError.userNotFound }
        if let caller, caller.id != user.id, try await graph.relations(viewer: caller.id, author: user.id).blocked {
            throw EphemeraError.userNotFound
        }
        return user
    }

    /// `author`'s story as `caller` sees it: their visible segments, oldest first.
    public func story(of author: Account, for caller: Account?) async throws -> [SegmentView] {
        let list = try await segments.story(authorID: author.id, viewer: caller?.id, now: clock.now())
        return try await views(of: list, for: Viewer(accountID: caller?.id))
    }

    /// Public stories for discovery, ranked, a page at a time (the cursor carries the ranking's instant).
    public func forYou(for caller: Account?, limit: Int, after cursor: RankedCursor?) async throws
        -> (items: [SegmentView], nextCursor: String?)
    {
        let page = try await segments.forYou(viewer: caller?.id, now: clock.now(), limit: limit, after: cursor)
        return (try await views(of: page.items, for: Viewer(accountID: caller?.id)), page.nextCursor)
    }

    /// My expired segments kept in my archive, newest first.
    public func archive(of author: Account, limit: Int, after cursor: PageCursor?) async throws
        -> (items: [SegmentView], nextCursor: String?)
    {
        let page = try await segments.archive(authorID: author.id, limit: limit, after: cursor)
        return (try await views(of: page.items, for: Viewer(accountID: author.id)), page.nextCursor)
    }

    /// The author's archived segments of one UTC day (`YYYY-MM-DD`), oldest first.
    public func archive(of author: Account, day: String) async throws -> [SegmentView] {
        let span = try ArchiveCalendar.span(ofDay: day)
        return try await views(of: try await segments.archived(authorID: author.id, within: [span]),
                               for: Viewer(accountID: author.id))
    }

    /// The author's archived segments of one UTC month (`YYYY-MM`), oldest first.
    public func archive(of author: Account, month: String) async throws -> [SegmentView] {
        let span = try ArchiveCalendar.span(ofMonth: month)
        return try await views(of: try await segments.archived(authorID: author.id, within: [span]),
                               for: Viewer(accountID: author.id))
    }

    /// "On this day": the author's archived segments from today's date in each of the last ten years, newest
    /// year first; years without any are left out.
    public func onThisDay(of author: Account) async throws -> [(yearsAgo: Int, day: String, segments: [SegmentView])] {
        let days = OnThisDay.days(before: clock.now())
        let found = try await segments.archived(authorID: author.id, within: days.map { ($0.start, $0.end) })
        guard !found.isEmpty else { return [] }
        let views = try await views(of: found, for: Viewer(accountID: author.id))
        return days.compactMap { day in
            let held = views.filter { $0.segment.createdAt >= day.start && $0.segment.createdAt < day.end }
            return held.isEmpty ? nil : (day.yearsAgo, day.day, held)
        }
    }

    /// The tray of `viewer`: the people they follow (and themselves) with a story they can see, in tray order,
    /// each with its author.
    /// The next instant a scheduled segment of someone in `viewer`'s tray (or their own) goes live: a cached
    /// tray is good until then at most.
    public func nextScheduledPublish(for viewer: Account) async throws -> Instant? {
        try await segments.nextPublish(viewer: viewer.id, now: clock.now())
    }

    /// The author's scheduled segments, soonest first.
    public func scheduled(of author: Account) async throws -> [Segment] {
        try await segments.scheduled(authorID: author.id, now: clock.now())
    }

    public func tray(for viewer: Account) async throws -> [(entry: TrayEntry, author: Account)] {
        let entries = try await segments.tray(viewer: viewer.id, now: clock.now())
        let authors = try await accounts.accounts(ids: Set(entries.map(\.authorID)))
        return entries.compactMap { entry in authors[entry.authorID].map { (entry, $0) } }
    }

    /// Records that `viewer` saw the segment (idempotent): only a segment they may see, by the one rule, on
    /// facts cached for this hot write path (`VisibilityCache`). Their look at their own is not counted.
    public func recordView(segmentID: String, by viewer: Account) async throws {
        let now = clock.now()
        guard let segment = try await segments.segmentForView(id: segmentID),
              EphemeraCore.isVisible(segment, to: Viewer(accountID: viewer.id), at: now,
                                     graph: try await graph.relationsForView(viewer: viewer.id, author: segment.authorID))
        else { throw EphemeraError.storyNotFound }
        try await segments.recordView(segmentID: segmentID, viewer: viewer.id, counted: segment.authorID != viewer.id, at: now)
    }
}
