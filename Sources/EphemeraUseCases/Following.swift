import EphemeraCore
import EphemeraStore

/// Following, close friends, blocks and hidden-from lists, and the follower lists of a profile.
public struct Following: Sendable {
    let reading: Reading
    let graph: SQLGraphStore
    let accounts: SQLAccountStore
    let clock: any EphemeraClock

    public init(reading: Reading, graph: SQLGraphStore, accounts: SQLAccountStore, clock: any EphemeraClock) {
        self.reading = reading
        self.graph = graph
        self.accounts = accounts
        self.clock = clock
    }

    /// Adds or removes `me → handle` on one list; idempotent. A block hides the blocker from the blocked, so
    /// (un)blocking finds the target without the block check every other list makes.
    public func change(_ edge: SQLGraphStore.Edge, add: Bool, handle: String, by me: Account) async throws {
        let target: Account
        if edge == .block {
            guard let found = try await accounts.account(handle: handle.lowercased()) else { throw EphemeraError.userNotFound }
            target = found
        } else {
            target = try await reading.user(handle: handle, for: me)
        }
        guard target.id != me.id else { throw EphemeraError.cannotTargetSelf }
        if add {
            try await graph.add(edge, from: me.id, to: target.id, at: clock.now())
        } else {
            try await graph.remove(edge, from: me.id, to: target.id)
        }
    }

    /// A page of `handle`'s followers (or of whom they follow), each as `caller` sees their profile.
    public func list(of handle: String, followers: Bool, for caller: Account?, limit: Int, after cursor: PageCursor?)
        async throws -> (items: [Profile], nextCursor: String?)
    {
        let user = try await reading.user(handle: handle, for: caller)
        let ids = try await graph.followPage(of: user.id, followers: followers, limit: limit, after: cursor)
        let found = try await accounts.accounts(ids: Set(ids.items))
        var items: [Profile] = []
        for id in ids.items {
            guard let account = found[id] else { continue }
            items.append(try await reading.profile(of: account, for: caller, recordingView: false))
        }
        return (items, ids.nextCursor)
    }
}

/// My activity inbox: what others did with my stories and my profile, and what moderators decided.
public struct Inbox: Sendable {
    /// An item with the account that acted.
    public struct Entry: Sendable, Hashable {
        public var item: ActivityItem
        public var actor: Account
        public var read: Bool
    }

    let activity: SQLActivityStore
    let accounts: SQLAccountStore
    let clock: any EphemeraClock

    public init(activity: SQLActivityStore, accounts: SQLAccountStore, clock: any EphemeraClock) {
        self.activity = activity
        self.accounts = accounts
        self.clock = clock
    }

    /// A page of my inbox, newest first, with the unread count; items by deleted accounts are left out.
    public func page(for me: Account, limit: Int, after cursor: PageCursor?) async throws
        -> (items: [Entry], nextCursor: String?, unreadCount: Int)
    {
        async let result = activity.activity(for: me.id, limit: limit, after: cursor)
        async let unread = activity.unreadCount(for: me.id)
        async let seenAt = activity.seenAt(for: me.id)
        let (page, unreadCount, seen) = try await (result, unread, seenAt)
        let actors = try await accounts.accounts(ids: Set(page.items.map(\.actorID)))
        let entries = page.items.compactMap { item in
            actors[item.actorID].map { Entry(item: item, actor: $0, read: seen.map { item.createdAt <= $0 } ?? false) }
        }
        return (entries, page.nextCursor, unreadCount)
    }

    /// How many items I have not read (the badge on every page).
    public func unreadCount(for me: Account) async throws -> Int {
        try await activity.unreadCount(for: me.id)
    }

    /// Marks everything up to now as read.
    public func markRead(for me: Account) async throws {
        try await activity.markRead(for: me.id, at: clock.now())
    }
}

/// Sharing: handing out a segment's link (counted as a share), and what a share link shows.
public struct Sharing: Sendable {
    /// What `/s/{code}` answers.
    public enum Page: Sendable {
        case show(Segment)
        case refuse(ShareLinkAnswer)
    }

    let reading: Reading
    let shares: SQLShareStore
    let graph: SQLGraphStore
    let limiter: RateLimiter
    let clock: any EphemeraClock

    public init(reading: Reading, shares: SQLShareStore, graph: SQLGraphStore, limiter: RateLimiter,
                clock: any EphemeraClock) {
        self.reading = reading
        self.shares = shares
        self.graph = graph
        self.limiter = limiter
        self.clock = clock
    }

    /// Records a share of a segment the caller can see and returns its share code.
    public func share(segmentID: String, by me: Account, address: String?) async throws -> String {
        try await limiter.check(.share, account: me.id, address: address)
        let segment = try await reading.visibleSegment(segmentID, by: me)
        return try await shares.share(segmentID: segment.id, accountID: me.id, at: clock.now())
    }

    /// What the share link `code` shows `caller` (`ShareRules`): the segment, 404, or 410 to its audience.
    public func page(code: String, for caller: Account?) async throws -> Page {
        switch try await shares.target(code: code) {
        case .unknown:
            return .refuse(.notFound)
        case .purged(let wasPublic):
            return .refuse(ShareRules.answerForPurged(wasPublic: wasPublic))
        case .segment(let segment):
            let relations = try await graph.relations(viewer: caller?.id, author: segment.authorID)
            let answer = ShareRules.answer(for: segment, to: Viewer(accountID: caller?.id), at: clock.now(), graph: relations)
            if case .show = answer { return .show(segment) }
            return .refuse(answer)
        }
    }
}
