import EphemeraCore
import EphemeraStore

/// A comment with its author, as readers see it.
public struct CommentView: Sendable, Hashable {
    public var comment: Comment
    public var author: Account
}

/// Someone who viewed (a segment, or a profile) at an instant.
public struct NamedViewer: Sendable, Hashable {
    public var account: Account
    public var viewedAt: Instant
}

/// A private reply with who wrote it.
public struct ReplyView: Sendable, Hashable {
    public var reply: Reply
    public var from: Account
}

/// The reactions to a segment, as its author sees them: every reaction counted by emoji, the reactors named only
/// when they enabled view history (as in the viewer list).
public struct ReactionSummary: Sendable, Hashable {
    /// Someone who reacted, and with what.
    public struct Named: Sendable, Hashable {
        public var account: Account
        public var emoji: String
    }
    public var counts: [String: Int]
    public var recent: [Named]
}

/// Who viewed a segment, as its author sees it: everyone is counted, only viewers who enabled view history are
/// named.
public struct ViewerList: Sendable, Hashable {
    public var count: Int
    public var named: [NamedViewer]
    public var anonymousCount: Int { count - named.count }
}

/// Likes, comments, viewer lists and profile views: what people do with a segment or a profile they can see.
public struct Interacting: Sendable {
    let reading: Reading
    let segments: SQLSegmentStore
    let interactions: SQLInteractionStore
    let accounts: SQLAccountStore
    let profileViews: SQLProfileViewStore
    let limiter: RateLimiter
    let clock: any EphemeraClock

    public init(reading: Reading, segments: SQLSegmentStore, interactions: SQLInteractionStore,
                accounts: SQLAccountStore, profileViews: SQLProfileViewStore, limiter: RateLimiter,
                clock: any EphemeraClock) {
        self.reading = reading
        self.segments = segments
        self.interactions = interactions
        self.accounts = accounts
        self.profileViews = profileViews
        self.limiter = limiter
        self.clock = clock
    }

    /// Likes (or unlikes) a segment the caller can see; idempotent.
    public func setLike(_ on: Bool, segmentID: String, by me: Account, address: String?) async throws {
        try await limiter.check(.like, account: me.id, address: address)
        let segment = try await reading.visibleSegment(segmentID, by: me)
        if on {
            _ = try await interactions.like(segmentID: segment.id, accountID: me.id, at: clock.now())
        } else {
            _ = try await interactions.unlike(segmentID: segment.id, accountID: me.id)
        }
    }

    /// Sets (`emoji`) or takes back (nil) the caller's quick reaction to a segment they can see; one each,
    /// replaced by the next. Not to their own story.
    public func react(_ emoji: String?, segmentID: String, by me: Account, address: String?) async throws {
        try await limiter.check(.react, account: me.id, address: address)
        let chosen = try emoji.map(QuickReaction.validated)
        let segment = try await reading.visibleSegment(segmentID, by: me)
        if let chosen {
            guard segment.authorID != me.id else { throw QuickReaction.ownStory }
            try await interactions.react(segmentID: segment.id, accountID: me.id, emoji: chosen, at: clock.now())
        } else {
            try await interactions.unreact(segmentID: segment.id, accountID: me.id)
        }
    }

    /// A viewer's report of how they moved through a segment they can see (`NavigationEvent`): counted on the
    /// segment, its reporter not kept; its author's own taps are not counted.
    public func reportNavigation(_ names: [String], segmentID: String, by caller: Account?, address: String?) async throws {
        try await limiter.check(.navigate, account: caller?.id, address: address)
        let events = try NavigationEvent.parse(names)
        let segment = try await reading.visibleSegment(segmentID, by: caller)
        guard NavigationEvent.counts(reportedBy: caller?.id, authorID: segment.authorID) else { return }
        try await segments.countNavigation(segmentID: segment.id, NavigationEvent.tally(events))
    }

    /// The insights of one of my segments, in any state I can read it in; anyone else learns nothing.
    public func insights(segmentID: String, by me: Account) async throws -> SegmentInsights {
        guard let segment = try await segments.segment(id: segmentID),
              isReadableByAuthor(segment, viewer: Viewer(accountID: me.id)) else { throw EphemeraError.storyNotFound }
        return try await segments.insights(of: segment, now: clock.now())
    }

    /// The reactions to one of my segments (`ReactionSummary`); anyone else learns nothing.
    public func reactions(segmentID: String, by me: Account, recentLimit: Int = 50) async throws -> ReactionSummary {
        guard let segment = try await segments.segment(id: segmentID),
              isReadableByAuthor(segment, viewer: Viewer(accountID: me.id)) else { throw EphemeraError.storyNotFound }
        let all = try await interactions.reactions(segmentID: segment.id)
        let counts = all.reduce(into: [String: Int]()) { $0[$1.emoji, default: 0] += 1 }
        let named = all.filter(\.sharesHistory).prefix(recentLimit)
        let names = try await accounts.accounts(ids: Set(named.map(\.accountID)))
        return ReactionSummary(counts: counts, recent: named.compactMap { entry in
            names[entry.accountID].map { ReactionSummary.Named(account: $0, emoji: entry.emoji) }
        })
    }

    /// A private reply to a segment the caller can see (not their own): for its author's eyes only.
    public func reply(_ text: String, segmentID: String, by me: Account, address: String?) async throws -> ReplyView {
        try await limiter.check(.reply, account: me.id, address: address)
        let validated = try Reply.validatedText(text)
        let segment = try await reading.visibleSegment(segmentID, by: me)
        guard segment.authorID != me.id else { throw Reply.ownStory }
        let reply = Reply(id: IDs.make(), segmentID: segment.id, authorID: me.id, text: validated, createdAt: clock.now())
        try await interactions.addReply(reply)
        return ReplyView(reply: reply, from: me)
    }

    /// A page of a segment's replies, oldest first: its author reads all of them, anyone else who can see it
    /// only their own. Replies by deleted accounts are left out.
    public func replies(segmentID: String, by me: Account, limit: Int, after cursor: PageCursor?) async throws
        -> (items: [ReplyView], nextCursor: String?)
    {
        let segment = try await reading.readableSegment(segmentID, by: me)
        let page = try await interactions.replies(
            segmentID: segment.id, from: Reply.readableFrom(storyAuthorID: segment.authorID, by: me.id),
            limit: limit, after: cursor)
        let authors = try await accounts.accounts(ids: Set(page.items.map(\.authorID)))
        return (page.items.compactMap { reply in authors[reply.authorID].map { ReplyView(reply: reply, from: $0) } },
                page.nextCursor)
    }

    /// A page of a segment's comments, oldest first. Its author reads them in any state; everyone else needs
    /// the segment visible. Comments by deleted accounts are left out.
    public func comments(segmentID: String, by caller: Account?, limit: Int, after cursor: PageCursor?) async throws
        -> (items: [CommentView], nextCursor: String?)
    {
        let segment = try await reading.readableSegment(segmentID, by: caller)
        return try await commentPage(of: segment.id, limit: limit, after: cursor)
    }

    /// Every comment of one of my segments (for the export), page by page.
    public func allComments(of segment: Segment) async throws -> [CommentView] {
        var all: [CommentView] = []
        var cursor: PageCursor?
        repeat {
            let page = try await commentPage(of: segment.id, limit: 100, after: cursor)
            all += page.items
            cursor = page.nextCursor.flatMap(PageCursor.init(encoded:))
        } while cursor != nil
        return all
    }

    func commentPage(of segmentID: String, limit: Int, after cursor: PageCursor?) async throws
        -> (items: [CommentView], nextCursor: String?)
    {
        let page = try await interactions.comments(segmentID: segmentID, limit: limit, after: cursor)
        let authors = try await accounts.accounts(ids: Set(page.items.map(\.authorID)))
        let items = page.items.compactMap { comment in authors[comment.authorID].map { CommentView(comment: comment, author: $0) } }
        return (items, page.nextCursor)
    }

    /// Comments on a segment the caller can see, when its author allows comments.
    public func addComment(_ text: String, segmentID: String, by me: Account, address: String?) async throws -> CommentView {
        try await limiter.check(.comment, account: me.id, address: address)
        let segment = try await reading.visibleSegment(segmentID, by: me)
        guard let author = try await accounts.account(id: segment.authorID) else { throw EphemeraError.storyNotFound }
        guard segment.commentsAllowed(author: author) else {
            throw EphemeraError(.forbidden, "comments_disabled", "@\(author.handle) has turned comments off for this story.")
        }
        let comment = Comment(id: IDs.make(), segmentID: segment.id, authorID: me.id,
                              text: try Comment.validatedText(text), createdAt: clock.now())
        try await interactions.addComment(comment)
        return CommentView(comment: comment, author: me)
    }

    /// Deletes a comment: its author's or the story author's to delete (`Comment.mayDelete`). Someone who can
    /// see the comment learns why they may not; anyone else learns nothing.
    public func deleteComment(id: String, by me: Account) async throws {
        let notFound = EphemeraError(.notFound, "comment_not_found", "There is no such comment, or you cannot see it.")
        guard let comment = try await interactions.comment(id: id),
              let segment = try await segments.segment(id: comment.segmentID) else { throw notFound }
        guard Comment.mayDelete(comment, storyAuthorID: segment.authorID, by: me.id) else {
            _ = try await reading.visibleSegment(segment.id, by: me)
            throw EphemeraError(.forbidden, "not_allowed", "Only the comment's author or the story's author can delete it.")
        }
        _ = try await interactions.deleteComment(id: comment.id)
    }

    /// The viewer list of one of my segments (any state until purged).
    public func viewers(segmentID: String, by me: Account) async throws -> ViewerList {
        guard let segment = try await segments.segment(id: segmentID),
              isReadableByAuthor(segment, viewer: Viewer(accountID: me.id)) else { throw EphemeraError.storyNotFound }
        let all = try await interactions.viewers(segmentID: segment.id, authorID: me.id)
        let named = all.filter(\.sharesHistory)
        let names = try await accounts.accounts(ids: Set(named.map(\.accountID)))
        return ViewerList(count: all.count, named: named.compactMap { entry in
            names[entry.accountID].map { NamedViewer(account: $0, viewedAt: entry.viewedAt) }
        })
    }

    /// Who looked at my profile within `profileViewWindow`, between people who both enabled view history.
    public func profileViewers(of me: Account, limit: Int, after cursor: PageCursor?) async throws
        -> (items: [NamedViewer], nextCursor: String?)
    {
        let page = try await profileViews.viewers(of: me.id, now: clock.now(), limit: limit, after: cursor)
        let names = try await accounts.accounts(ids: Set(page.items.map(\.accountID)))
        return (page.items.compactMap { entry in names[entry.accountID].map { NamedViewer(account: $0, viewedAt: entry.viewedAt) } },
                page.nextCursor)
    }
}
