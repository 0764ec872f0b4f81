import EphemeraCore
import EphemeraUseCases
import EphemeraStore
import Hummingbird

/// Moderation (API.md, "Moderation"): anyone who can see a segment reports it; moderators work the queue, take
/// down and dismiss, and decide appeals (never their own takedown's); authors read why their segment was
/// removed and appeal once; admins read the append-only log. Moderation routes answer 404 to members.
struct ModerationController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.post("/api/v1/stories/:id/reports", use: report)
        router.post("/api/v1/stories/:id/appeals", use: appeal)
        router.get("/api/v1/me/removed", use: removed)
        router.get("/api/v1/moderation/reports", use: queue)
        router.post("/api/v1/moderation/reports/:id/dismiss", use: dismiss)
        router.post("/api/v1/moderation/stories/:id/takedown", use: takedown)
        router.get("/api/v1/moderation/appeals", use: appeals)
        router.post("/api/v1/moderation/appeals/:id/decision", use: decide)
        router.get("/api/v1/moderation/log", use: log)
    }

    // MARK: Bodies

    struct NewReport: Decodable { var reason: String?; var details: String? }
    struct NewTakedown: Decodable { var reason: String? }
    struct NewAppeal: Decodable { var message: String? }
    struct NewDecision: Decodable { var decision: String?; var note: String? }

    /// A report as the reporter and moderators see it; the reporter is never named here.
    struct ReportBody: Encodable {
        var id: String
        var segmentId: String
        var reason: String
        var details: String?
        var status: String
        var createdAt: String
        var resolvedBy: AuthorBody?
        var resolvedAt: String?
    }

    struct QueueItemBody: Encodable {
        var segment: SegmentBody
        var reportCount: Int
        var reasons: [String: Int]
        var firstReportedAt: String
        var reports: [ReportBody]
    }

    struct AppealBody: Encodable {
        var id: String
        var segmentId: String
        var message: String
        var createdAt: String
        var decision: String?
        var decidedAt: String?
        var note: String?

        init(_ appeal: Appeal) {
            id = appeal.id
            segmentId = appeal.segmentID
            message = appeal.message
            createdAt = appeal.createdAt.rfc3339
            decision = appeal.decision?.rawValue
            decidedAt = appeal.decidedAt?.rfc3339
            note = appeal.note
        }
    }

    struct OpenAppealBody: Encodable {
        var appeal: AppealBody
        var segment: SegmentBody
        var takedownReason: String
        var takenDownAt: String
        var takenDownBy: AuthorBody?
        /// False for the moderator who took it down (four eyes).
        var canDecide: Bool
    }

    struct DecisionBody: Encodable {
        var appeal: AppealBody
        var segment: SegmentBody
    }

    struct LogEntryBody: Encodable {
        var id: String
        var at: String
        var action: String
        var segmentId: String?
        var subjectId: String?
        var actor: AuthorBody?
        var reason: String?
        var detail: String?
    }

    // MARK: Members

    @Sendable func report(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        try services.rateLimiter.check(.report, account: me.id, address: context.address)
        let segment = try await services.reading.visibleSegment(try context.parameters.require("id"), by: context.account)
        guard segment.authorID != me.id else {
            throw EphemeraError.badRequest("cannot_report_own", "You cannot report your own story; delete it instead.")
        }
        let body = try await decodeJSON(NewReport.self, from: request, context: context)
        let reason = try ModerationRules.reportReason(body.reason)
        let details = try ModerationRules.optionalText(body.details, field: "details", limit: ModerationRules.maxDetailsLength)
        let report = try await services.moderation.report(
            segmentID: segment.id, reporterID: me.id, reason: reason, details: details, at: services.clock.now())
        return try jsonResponse(reportBody(report, resolvers: [:]), status: .created)
    }

    @Sendable func appeal(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let body = try await decodeJSON(NewAppeal.self, from: request, context: context)
        let message = try ModerationRules.requiredText(body.message, field: "message", limit: ModerationRules.maxAppealLength)
        let appeal = try await services.moderation.appeal(
            segmentID: try context.parameters.require("id"), authorID: me.id, message: message, at: services.clock.now())
        return try jsonResponse(AppealBody(appeal), status: .created)
    }

    /// My removed segments with the reason, the appeal and any legal hold.
    @Sendable func removed(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let page = try PageRequest(request)
        let result = try await services.moderation.removed(authorID: me.id, limit: page.limit, after: page.cursor)
        var bodies = try await segmentBodies(services, result.items.map(\.segment), viewer: context.viewer)
        for index in bodies.indices {
            let item = result.items[index]
            bodies[index].removal = RemovalBody(takedown: item.takedown, appeal: item.appeal)
        }
        return try jsonResponse(PageBody(items: bodies, nextCursor: result.nextCursor))
    }

    // MARK: Moderators

    /// The caller if they moderate; anyone else gets the 404 of a route that is not theirs.
    func requireModerator(_ context: AppRequestContext) throws -> Account {
        let me = try context.requireAccount()
        guard ModerationRules.canModerate(me.role) else { throw EphemeraError.moderationNotFound }
        return me
    }

    @Sendable func queue(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try requireModerator(context)
        let page = try PageRequest(request)
        switch request.uri.queryParameters["status"].map(String.init) ?? "open" {
        case "open":
            let result = try await openQueue(limit: page.limit, after: page.cursor, viewer: context.viewer)
            let items = result.items.map { queued, segment in
                QueueItemBody(
                    segment: segment, reportCount: queued.reports.count,
                    reasons: Dictionary(uniqueKeysWithValues: queued.reasonCounts.map { ($0.key.rawValue, $0.value) }),
                    firstReportedAt: queued.firstReportedAt.rfc3339,
                    reports: queued.reports.map { reportBody($0, resolvers: [:]) })
            }
            return try jsonResponse(PageBody(items: items, nextCursor: result.nextCursor))
        case "resolved":
            let result = try await services.moderation.resolvedReports(limit: page.limit, after: page.cursor)
            let resolvers = try await services.accounts.accounts(ids: Set(result.items.compactMap(\.resolvedBy)))
            return try jsonResponse(PageBody(items: result.items.map { reportBody($0, resolvers: resolvers) },
                                             nextCursor: result.nextCursor))
        case let other:
            throw EphemeraError.invalidValue(field: "status", value: other, accepted: ["open", "resolved"])
        }
    }

    @Sendable func dismiss(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try requireModerator(context)
        let report = try await services.moderation.dismiss(
            reportID: try context.parameters.require("id"), moderatorID: me.id, at: services.clock.now())
        return try jsonResponse(reportBody(report, resolvers: [me.id: me]))
    }

    @Sendable func takedown(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try requireModerator(context)
        let body = try await decodeJSON(NewTakedown.self, from: request, context: context)
        let reason = try ModerationRules.requiredText(body.reason, field: "reason", limit: ModerationRules.maxReasonLength)
        let segment = try await services.moderation.takedown(
            segmentID: try context.parameters.require("id"), moderatorID: me.id, reason: reason, at: services.clock.now())
        return try jsonResponse(try await segmentBodies(services, [segment], viewer: context.viewer)[0])
    }

    @Sendable func appeals(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try requireModerator(context)
        let page = try PageRequest(request, cursor: false)
        let items = try await openAppeals(for: me, viewer: context.viewer, limit: page.limit).map { item in
            OpenAppealBody(
                appeal: AppealBody(item.appeal), segment: item.segment, takedownReason: item.takedown.reason,
                takenDownAt: item.takedown.createdAt.rfc3339, takenDownBy: item.takenDownBy.map(AuthorBody.init),
                canDecide: item.canDecide)
        }
        return try jsonResponse(PageBody(items: items, nextCursor: nil))
    }

    // MARK: Shared with the web app's /moderation

    /// A page of the open queue, each segment with its body.
    func openQueue(limit: Int, after cursor: PageCursor?, viewer: Viewer) async throws
        -> (items: [(queued: QueuedSegment, segment: SegmentBody)], nextCursor: String?)
    {
        let result = try await services.moderation.queue(limit: limit, after: cursor)
        let segments = try await segmentBodies(services, result.items.map(\.segment), viewer: viewer)
        return (Array(zip(result.items, segments)), result.nextCursor)
    }

    struct OpenAppeal {
        var appeal: Appeal
        var takedown: Takedown
        var segment: SegmentBody
        /// Nil once that moderator's account is gone.
        var takenDownBy: Account?
        /// Four eyes: false for the moderator who took it down.
        var canDecide: Bool
    }

    /// Open appeals, oldest first, with what a moderator deciding them needs to see.
    func openAppeals(for me: Account, viewer: Viewer, limit: Int) async throws -> [OpenAppeal] {
        let open = try await services.moderation.openAppeals(limit: limit)
        let segments = try await segmentBodies(services, open.map(\.segment), viewer: viewer)
        let moderators = try await services.accounts.accounts(ids: Set(open.compactMap(\.takedown.moderatorID)))
        return zip(open, segments).map { item, segment in
            OpenAppeal(appeal: item.appeal, takedown: item.takedown, segment: segment,
                       takenDownBy: item.takedown.moderatorID.flatMap { moderators[$0] },
                       canDecide: ModerationRules.mayDecideAppeal(decider: me.id, tookDownBy: item.takedown.moderatorID))
        }
    }

    @Sendable func decide(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try requireModerator(context)
        let body = try await decodeJSON(NewDecision.self, from: request, context: context)
        let decision = try ModerationRules.decision(body.decision)
        let note = try ModerationRules.optionalText(body.note, field: "note", limit: ModerationRules.maxNoteLength)
        let (appeal, segment) = try await services.moderation.decide(
            appealID: try context.parameters.require("id"), moderatorID: me.id, decision: decision, note: note,
            legalHold: services.configuration.legalHold, at: services.clock.now())
        return try jsonResponse(DecisionBody(
            appeal: AppealBody(appeal), segment: try await segmentBodies(services, [segment], viewer: context.viewer)[0]))
    }

    // MARK: Admins

    @Sendable func log(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        guard ModerationRules.canReadLog(me.role) else { throw EphemeraError.moderationNotFound }
        let page = try PageRequest(request)
        let result = try await services.moderation.log(limit: page.limit, after: page.cursor)
        let actors = try await services.accounts.accounts(ids: Set(result.items.compactMap(\.actorID)))
        let items = result.items.map { entry in
            LogEntryBody(id: entry.id, at: entry.at.rfc3339, action: entry.action.rawValue, segmentId: entry.segmentID,
                         subjectId: entry.subjectID, actor: entry.actorID.flatMap { actors[$0] }.map(AuthorBody.init),
                         reason: entry.reason, detail: entry.detail)
        }
        return try jsonResponse(PageBody(items: items, nextCursor: result.nextCursor))
    }

    func reportBody(_ report: Report, resolvers: [String: Account]) -> ReportBody {
        ReportBody(id: report.id, segmentId: report.segmentID, reason: report.reason.rawValue, details: report.details,
                   status: report.status.rawValue, createdAt: report.createdAt.rfc3339,
                   resolvedBy: report.resolvedBy.flatMap { resolvers[$0] }.map(AuthorBody.init),
                   resolvedAt: report.resolvedAt?.rfc3339)
    }
}

/// Why a segment was removed, for its author: the reason, the appeal and any legal hold.
struct RemovalBody: Encodable {
    var reason: String
    var removedAt: String
    var legalHoldUntil: String?
    var canAppeal: Bool
    var appeal: ModerationController.AppealBody?

    init(takedown: Takedown, appeal: Appeal?) {
        reason = takedown.reason
        removedAt = takedown.createdAt.rfc3339
        legalHoldUntil = takedown.holdUntil?.rfc3339
        canAppeal = appeal == nil
        self.appeal = appeal.map(ModerationController.AppealBody.init)
    }
}
