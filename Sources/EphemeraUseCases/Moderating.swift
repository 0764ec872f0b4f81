import EphemeraCore
import EphemeraStore

/// A removed segment of mine, with why and what became of my appeal.
public struct RemovedSegment: Sendable {
    public var view: SegmentView
    public var takedown: Takedown
    public var appeal: Appeal?
}

/// A segment in the open queue, with its reports.
public struct QueueItem: Sendable {
    public var queued: QueuedSegment
    public var view: SegmentView
}

/// An open appeal with what a moderator deciding it needs to see.
public struct OpenAppeal: Sendable {
    public var appeal: Appeal
    public var takedown: Takedown
    public var view: SegmentView
    /// Nil once that moderator's account is gone.
    public var takenDownBy: Account?
    /// Four eyes: false for the moderator who took it down.
    public var canDecide: Bool
}

/// Moderation (API.md, "Moderation"), for the API and the web app's /moderation and /removed pages alike:
/// reports, the queue, takedowns, appeals decided by a second moderator, the log. The rules are
/// `ModerationRules`; the store writes each action and its log line in one transaction.
public struct Moderating: Sendable {
    let moderation: SQLModerationStore
    let accounts: SQLAccountStore
    let reading: Reading
    let clock: any EphemeraClock
    let legalHold: Duration

    /// Reports are rate limited per reporter and per address.
    let limiter: RateLimiter

    public init(moderation: SQLModerationStore, accounts: SQLAccountStore, reading: Reading, clock: any EphemeraClock,
                legalHold: Duration, limiter: RateLimiter) {
        self.limiter = limiter
        self.moderation = moderation
        self.accounts = accounts
        self.reading = reading
        self.clock = clock
        self.legalHold = legalHold
    }

    // MARK: Members

    /// Gives the account `handle` a role (an operator's act, from the CLI or `--admin`), logged in the moderation
    /// log when it changes anything. Returns the account as it was, or nil when there is no such account.
    @discardableResult
    public func assignRole(_ role: Role, handle: String) async throws -> Account? {
        let handle = handle.lowercased()
        guard let account = try await accounts.account(handle: handle) else { return nil }
        guard account.role != role else { return account }
        guard try await accounts.setRole(handle: handle, role: role) else { return nil }
        try await moderation.logRoleChange(accountID: account.id, role: role, at: clock.now())
        return account
    }

    /// Why moderators removed my segment, and my appeal: for its author only, nil for anyone else or a
    /// segment that is not removed.
    public func removal(of segment: Segment, for caller: Account?) async throws -> (takedown: Takedown, appeal: Appeal?)? {
        guard segment.state == .removed, segment.authorID == caller?.id,
              let takedown = try await moderation.takedown(segmentID: segment.id) else { return nil }
        return (takedown, try await moderation.appeal(segmentID: segment.id))
    }

    /// Reports a segment `reporter` can see.
    public func report(segmentID: String, by reporter: Account, reason: String?, details: String?, address: String?)
        async throws -> Report
    {
        try await limiter.check(.report, account: reporter.id, address: address)
        let segment = try await reading.visibleSegment(segmentID, by: reporter)
        let reason = try ModerationRules.reportReason(reason)
        let details = try ModerationRules.optionalText(details, field: "details", limit: ModerationRules.maxDetailsLength)
        return try await moderation.report(segmentID: segment.id, reporterID: reporter.id, reason: reason, details: details,
                                           at: clock.now())
    }

    /// The author's one appeal against the takedown of their segment.
    public func appeal(segmentID: String, by author: Account, message: String?) async throws -> Appeal {
        let message = try ModerationRules.requiredText(message, field: "message", limit: ModerationRules.maxAppealLength)
        return try await moderation.appeal(segmentID: segmentID, authorID: author.id, message: message, at: clock.now())
    }

    /// My removed segments (not the ones I deleted under a hold), most recently removed first.
    public func removed(of author: Account, limit: Int, after cursor: PageCursor?) async throws -> Page<RemovedSegment> {
        let result = try await moderation.removed(authorID: author.id, limit: limit, after: cursor)
        let views = try await reading.views(of: result.items.map(\.segment), for: Viewer(accountID: author.id))
        let byID = Dictionary(uniqueKeysWithValues: views.map { ($0.segment.id, $0) })
        return Page(items: result.items.compactMap { item in
            byID[item.segment.id].map { RemovedSegment(view: $0, takedown: item.takedown, appeal: item.appeal) }
        }, nextCursor: result.nextCursor)
    }

    // MARK: Moderators

    /// A page of the open queue, the longest waiting first.
    public func openQueue(for caller: Account, limit: Int, after cursor: PageCursor?) async throws -> Page<QueueItem> {
        let me = try ModerationRules.requireModerator(caller)
        let result = try await moderation.queue(limit: limit, after: cursor)
        let views = try await reading.views(of: result.items.map(\.segment), for: Viewer(accountID: me.id))
        let byID = Dictionary(uniqueKeysWithValues: views.map { ($0.segment.id, $0) })
        return Page(items: result.items.compactMap { queued in byID[queued.segment.id].map { QueueItem(queued: queued, view: $0) } },
                    nextCursor: result.nextCursor)
    }

    /// Resolved reports, with the accounts of those who resolved them.
    public func resolvedReports(for caller: Account, limit: Int, after cursor: PageCursor?)
        async throws -> (page: Page<Report>, resolvers: [String: Account])
    {
        _ = try ModerationRules.requireModerator(caller)
        let result = try await moderation.resolvedReports(limit: limit, after: cursor)
        return (result, try await accounts.accounts(ids: Set(result.items.compactMap(\.resolvedBy))))
    }

    /// Open appeals, oldest first.
    public func openAppeals(for caller: Account, limit: Int) async throws -> [OpenAppeal] {
        let me = try ModerationRules.requireModerator(caller)
        let open = try await moderation.openAppeals(limit: limit)
        let views = try await reading.views(of: open.map(\.segment), for: Viewer(accountID: me.id))
        let byID = Dictionary(uniqueKeysWithValues: views.map { ($0.segment.id, $0) })
        let moderators = try await accounts.accounts(ids: Set(open.compactMap(\.takedown.moderatorID)))
        return open.compactMap { item in
            byID[item.segment.id].map {
                OpenAppeal(appeal: item.appeal, takedown: item.takedown, view: $0,
                           takenDownBy: item.takedown.moderatorID.flatMap { moderators[$0] },
                           canDecide: ModerationRules.mayDecideAppeal(decider: me.id, tookDownBy: item.takedown.moderatorID))
            }
        }
    }

    public func dismiss(reportID: String, by caller: Account) async throws -> Report {
        let me = try ModerationRules.requireModerator(caller)
        return try await moderation.dismiss(reportID: reportID, moderatorID: me.id, at: clock.now())
    }

    public func takedown(segmentID: String, by caller: Account, reason: String?) async throws -> Segment {
        let me = try ModerationRules.requireModerator(caller)
        let reason = try ModerationRules.requiredText(reason, field: "reason", limit: ModerationRules.maxReasonLength)
        return try await moderation.takedown(segmentID: segmentID, moderatorID: me.id, reason: reason, at: clock.now())
    }

    public func decide(appealID: String, by caller: Account, decision: String?, note: String?) async throws -> (Appeal, Segment) {
        let me = try ModerationRules.requireModerator(caller)
        let decision = try ModerationRules.decision(decision)
        let note = try ModerationRules.optionalText(note, field: "note", limit: ModerationRules.maxNoteLength)
        return try await moderation.decide(appealID: appealID, moderatorID: me.id, decision: decision, note: note,
                                           legalHold: legalHold, at: clock.now())
    }

    // MARK: Admins

    /// The append-only log, newest first, with the accounts that acted (none once deleted).
    public func log(for caller: Account, limit: Int, after cursor: PageCursor?)
        async throws -> (page: Page<ModerationLogEntry>, actors: [String: Account])
    {
        guard ModerationRules.canReadLog(caller.role) else { throw EphemeraError.moderationNotFound }
        let result = try await moderation.log(limit: limit, after: cursor)
        return (result, try await accounts.accounts(ids: Set(result.items.compactMap(\.actorID))))
    }
}
