import EphemeraCore
import EphemeraUseCases
import EphemeraStore
import Hummingbird

/// The web app's moderation pages: `/moderation` (moderators: the report queue with previews, takedown,
/// dismiss, and appeals to decide) and `/removed` (authors: what moderators removed, why, and the appeal
/// form). Both read the same stores as the API and act through it from `app.js`.
struct WebModerationController {
    let web: WebController

    var services: AppServices { web.services }

    func register(on router: Router<AppRequestContext>) {
        router.get("/moderation", use: moderation)
        router.get("/removed", use: removed)
    }

    struct ReportLineView: Sendable {
        var id: String
        var reason: String
        var details: String?
        var when: String
    }

    struct QueueItemView: Sendable {
        var id: String
        var person: PersonView
        var poster: String?
        var video: String?
        var caption: String?
        var audience: String
        var state: String
        var reportCount: Int
        var reportLabel: String
        var reasons: String
        var reports: [ReportLineView]
    }

    struct AppealItemView: Sendable {
        var id: String
        var segmentID: String
        var person: PersonView
        var poster: String?
        var video: String?
        var caption: String?
        var takedownReason: String
        var takenDownByLabel: String
        var message: String
        var appealedWhen: String
        var canDecide: Bool
    }

    struct ModerationData: Sendable {
        var queue: [QueueItemView]
        var queueEmpty: Bool
        var appeals: [AppealItemView]
        var appealsEmpty: Bool
        var isAdmin: Bool
    }

    @Sendable func moderation(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try ModerationRules.requireModerator(try web.signedIn(request, context))
        let s = web.pages.strings(context)
        let now = services.clock.now()
        let queueViews = try await services.moderating.openQueue(for: me, limit: 50, after: nil).items.map { item in
            let (queued, segment) = (item.queued, item.view.segment)
            let counts = queued.reasonCounts
            return QueueItemView(
                id: segment.id, person: PersonView(item.view.author), poster: posterPath(segment),
                video: mediaPath(segment, .video), caption: segment.caption,
                audience: WebController.audienceLabel(segment.audience, strings: s),
                state: s["state_\(segment.state.rawValue)"],
                reportCount: queued.reports.count,
                reportLabel: s.count("report_count", queued.reports.count),
                reasons: ReportReason.allCases.compactMap { reason in
                    counts[reason].map { "\(Self.label(reason, strings: s)) \(s.language.integer(Int64($0)))" }
                }.joined(separator: " · "),
                reports: queued.reports.map {
                    ReportLineView(id: $0.id, reason: Self.label($0.reason, strings: s), details: $0.details,
                                   when: shortAge(from: $0.createdAt, to: now, strings: s))
                })
        }
        let appealViews = try await services.moderating.openAppeals(for: me, limit: 50).map { item in
            AppealItemView(
                id: item.appeal.id, segmentID: item.view.segment.id, person: PersonView(item.view.author),
                poster: posterPath(item.view.segment), video: mediaPath(item.view.segment, .video),
                caption: item.view.segment.caption, takedownReason: item.takedown.reason,
                takenDownByLabel: s("taken_down_by", ["name": item.takenDownBy.map { "@" + $0.handle }
                                                        ?? s["former_moderator"]]),
                message: item.appeal.message,
                appealedWhen: s("appealed_when", ["when": Self.ago(item.appeal.createdAt, now: now, strings: s)]),
                canDecide: item.canDecide)
        }
        return web.pages.render(
            "moderation", title: s["moderation"],
            data: ModerationData(queue: queueViews, queueEmpty: queueViews.isEmpty, appeals: appealViews,
                                 appealsEmpty: appealViews.isEmpty, isAdmin: me.role == .admin),
            me: try await web.meView(context), context: context)
    }

    struct RemovedItemView: Sendable {
        var id: String
        var poster: String?
        var caption: String?
        var reason: String
        var removedWhen: String
        var canAppeal: Bool
        var appealMessage: String?
        var pending: Bool
        var outcome: String?
        var note: String?
        var holdUntil: String?
    }

    struct RemovedData: Sendable {
        var items: [RemovedItemView]
        var empty: Bool
    }

    @Sendable func removed(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try web.signedIn(request, context)
        let s = web.pages.strings(context)
        let now = services.clock.now()
        let page = try await services.moderating.removed(of: me, limit: 100, after: nil)
        let items = page.items.map { item in
            RemovedItemView(
                id: item.view.segment.id, poster: posterPath(item.view.segment), caption: item.view.segment.caption,
                reason: item.takedown.reason,
                removedWhen: s("removed_when", ["when": Self.ago(item.takedown.createdAt, now: now, strings: s)]),
                canAppeal: item.appeal == nil,
                appealMessage: item.appeal?.message, pending: item.appeal != nil && item.appeal?.decision == nil,
                outcome: item.appeal?.decision == .uphold ? s["appeal_upheld_outcome"] : nil,
                note: item.appeal?.note,
                holdUntil: item.takedown.holdUntil.map {
                    s("hold_until", ["date": ArchiveCalendar.title(ofDay: ArchiveCalendar.day(of: $0), language: s.language)])
                })
        }
        return web.pages.render("removed", title: s["removed_by_moderators"],
                                data: RemovedData(items: items, empty: items.isEmpty),
                                me: try await web.meView(context), context: context)
    }

    /// "just now", "5m ago" ("à l’instant", "il y a 5 min").
    static func ago(_ then: Instant, now: Instant, strings s: Catalogue) -> String {
        now.milliseconds - then.milliseconds < 60_000 ? s["just_now"]
            : s("ago", ["age": shortAge(from: then, to: now, strings: s)])
    }

    static func label(_ reason: ReportReason, strings s: Catalogue) -> String {
        s["reason_\(reason.rawValue)"]
    }
}
