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
        let id = try context.parameters.require("id")
        let body = try await decodeJSON(NewReport.self, from: request, context: context)
        let report = try await services.moderating.report(segmentID: id, by: me, reason: body.reason, details: body.details,
                                                          address: context.address)
        return try jsonResponse(reportBody(report, resolvers: [:]), status: .created)
    }

    @Sendable func appeal(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let body = try await decodeJSON(NewAppeal.self, from: request, context: context)
        let appeal = try await services.moderating.appeal(segmentID: try context.parameters.require("id"), by: me,
                                                          message: body.message)
        return try jsonResponse(AppealBody(appeal), status: .created)
    }

    /// My removed segments with the reason, the appeal and any legal hold.
    @Sendable func removed(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let page = try PageRequest(request)
        let result = try await services.moderating.removed(of: me, limit: page.limit, after: page.cursor)
        let items = result.items.map { item in
            var body = SegmentBody(item.view, viewer: context.viewer, publicURL: services.publicURL)
            body.removal = RemovalBody(takedown: item.takedown, appeal: item.appeal)
            return body
        }
        return try jsonResponse(PageBody(items: items, nextCursor: result.nextCursor))
    }

    // MARK: Moderators

    /// The caller if they moderate; anyone else gets the 404 of a route that is not theirs.
    func requireModerator(_ context: AppRequestContext) throws -> Account {
        try ModerationRules.requireModerator(try context.requireAccount())
    }

    @Sendable func queue(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try requireModerator(context)
        let page = try PageRequest(request)
        switch request.uri.queryParameters["status"].map(String.init) ?? "open" {
        case "open":
            let result = try await services.moderating.openQueue(for: me, limit: page.limit, after: page.cursor)
            let items = result.items.map { item in
                QueueItemBody(
                    segment: SegmentBody(item.view, viewer: context.viewer, publicURL: services.publicURL),
                    reportCount: item.queued.reports.count,
                    reasons: Dictionary(uniqueKeysWithValues: item.queued.reasonCounts.map { ($0.key.rawValue, $0.value) }),
                    firstReportedAt: item.queued.firstReportedAt.rfc3339,
                    reports: item.queued.reports.map { reportBody($0, resolvers: [:]) })
            }
            return try jsonResponse(PageBody(items: items, nextCursor: result.nextCursor))
        case "resolved":
            let (result, resolvers) = try await services.moderating.resolvedReports(for: me, limit: page.limit, after: page.cursor)
            return try jsonResponse(PageBody(items: result.items.map { reportBody($0, resolvers: resolvers) },
                                             nextCursor: result.nextCursor))
        case let other:
            throw EphemeraError.invalidValue(field: "status", value: other, accepted: ["open", "resolved"])
        }
    }

    @Sendable func dismiss(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try requireModerator(context)
        let report = try await services.moderating.dismiss(reportID: try context.parameters.require("id"), by: me)
        return try jsonResponse(reportBody(report, resolvers: [me.id: me]))
    }

    @Sendable func takedown(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try requireModerator(context)
        let body = try await decodeJSON(NewTakedown.self, from: request, context: context)
        let segment = try await services.moderating.takedown(segmentID: try context.parameters.require("id"), by: me,
                                                             reason: body.reason)
        return try jsonResponse(try await segmentBodies(services, [segment], viewer: context.viewer)[0])
    }

    @Sendable func appeals(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try requireModerator(context)
        let page = try PageRequest(request, cursor: false)
        let items = try await services.moderating.openAppeals(for: me, limit: page.limit).map { item in
            OpenAppealBody(
                appeal: AppealBody(item.appeal),
                segment: SegmentBody(item.view, viewer: context.viewer, publicURL: services.publicURL),
                takedownReason: item.takedown.reason, takenDownAt: item.takedown.createdAt.rfc3339,
                takenDownBy: item.takenDownBy.map(AuthorBody.init), canDecide: item.canDecide)
        }
        return try jsonResponse(PageBody(items: items, nextCursor: nil))
    }

    @Sendable func decide(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try requireModerator(context)
        let body = try await decodeJSON(NewDecision.self, from: request, context: context)
        let (appeal, segment) = try await services.moderating.decide(
            appealID: try context.parameters.require("id"), by: me, decision: body.decision, note: body.note)
        return try jsonResponse(DecisionBody(
            appeal: AppealBody(appeal), segment: try await segmentBodies(services, [segment], viewer: context.viewer)[0]))
    }

    // MARK: Admins

    @Sendable func log(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let page = try PageRequest(request)
        let (result, actors) = try await services.moderating.log(for: me, limit: page.limit, after: page.cursor)
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
