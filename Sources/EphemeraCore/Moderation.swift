import Foundation

/// Why someone reports a segment.
public enum ReportReason: String, Sendable, Hashable, CaseIterable, Codable {
    case spam, nudity, violence, harassment, hate
    case selfHarm = "self_harm"
    case misinformation, copyright, other
}

/// Where a report stands: waiting in the queue, or resolved by a moderator.
public enum ReportStatus: String, Sendable, Hashable, CaseIterable {
    case open
    /// The segment was taken down (on this or another report).
    case actioned
    /// A moderator found nothing to act on.
    case dismissed
}

/// What a second moderator decides on an appeal.
public enum AppealDecision: String, Sendable, Hashable, CaseIterable {
    /// The takedown was wrong: the segment comes back.
    case restore
    /// The takedown stands: the segment stays hidden under legal hold, then is purged.
    case uphold
}

/// Every kind of line in the append-only moderation log.
public enum ModerationAction: String, Sendable, Hashable, CaseIterable {
    case report, takedown, dismiss, appeal, restore, uphold
    case purgeAfterHold = "purge_after_hold"
    case promote
}

extension ModerationAction {
    /// Whether a log line of this action keeps a person's free text in `reason` (a moderator's takedown
    /// reason) rather than one of a fixed set of values (a report reason, a role).
    public var reasonIsFreeText: Bool { self == .takedown }

    /// The actions whose `reason` a purge erases from the log, with every `detail` and the author's identity:
    /// the log outlives the segment, but names neither its author nor what anyone wrote about it.
    public static var erasedReasonsAtPurge: [ModerationAction] { allCases.filter(\.reasonIsFreeText) }
}

/// The rules of moderation, pure: who may do what, and what a request must contain.
public enum ModerationRules {
    public static let maxDetailsLength = 1000
    public static let maxReasonLength = 500
    public static let maxAppealLength = 1000
    public static let maxNoteLength = 1000

    /// Moderators and admins work the queue, take down and decide appeals.
    public static func canModerate(_ role: Role) -> Bool { role == .moderator || role == .admin }

    /// Only admins read the moderation log (it names reporters and moderators).
    public static func canReadLog(_ role: Role) -> Bool { role == .admin }

    /// Four eyes: the moderator who took a segment down never decides its appeal.
    public static func mayDecideAppeal(decider: String, tookDownBy: String?) -> Bool { decider != tookDownBy }

    /// Only moderators and admins may use the moderation routes; anyone else gets the 404 of a route that is
    /// not theirs.
    public static func requireModerator(_ account: Account) throws -> Account {
        guard canModerate(account.role) else { throw EphemeraError.moderationNotFound }
        return account
    }

    /// A person reports what they can see, never their own story, and has one open report per segment.
    public static func checkReport(reporterID: String, authorID: String, alreadyOpen: Bool) throws {
        guard reporterID != authorID else {
            throw EphemeraError.badRequest("cannot_report_own", "You cannot report your own story; delete it instead.")
        }
        guard !alreadyOpen else {
            throw EphemeraError.conflict("already_reported", "You have already reported this story; moderators will look at it.")
        }
    }

    /// The author appeals a takedown once, while the segment is removed.
    public static func checkAppeal(state: SegmentState, alreadyAppealed: Bool) throws {
        guard state == .removed else {
            throw EphemeraError.conflict("not_removed",
                                         "Only a story that was taken down can be appealed; this one is \(state.rawValue).")
        }
        guard !alreadyAppealed else {
            throw EphemeraError.conflict("already_appealed", "You have already appealed this takedown; a takedown can be appealed once.")
        }
    }

    /// What the author deleting their removed segment does: under a legal hold it only leaves their view
    /// (kept, hidden, until the hold ends); otherwise it is purged like any permanent delete.
    public enum AuthorDeletion: Sendable, Hashable {
        case hideUntil(Instant)
        case purge
    }

    public static func authorDeletesRemoved(holdUntil: Instant?, at now: Instant) -> AuthorDeletion {
        if let holdUntil, isHeld(holdUntil: holdUntil, at: now) { return .hideUntil(holdUntil) }
        return .purge
    }

    /// A segment under legal hold is kept, hidden, until the hold ends; nothing purges it before.
    public static func isHeld(holdUntil: Instant?, at now: Instant) -> Bool {
        guard let holdUntil else { return false }
        return now < holdUntil
    }

    /// The reason of a report, or an error naming the accepted ones.
    public static func reportReason(_ text: String?) throws -> ReportReason {
        guard let text, let reason = ReportReason(rawValue: text) else {
            throw EphemeraError.invalidValue(field: "reason", value: text ?? "", accepted: ReportReason.allCases.map(\.rawValue))
        }
        return reason
    }

    /// Optional free text, trimmed, at most `limit` characters; nil when empty.
    public static func optionalText(_ text: String?, field: String, limit: Int) throws -> String? {
        let trimmed = text?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard trimmed.count <= limit else {
            throw EphemeraError.unprocessable("\(field)_too_long", "The \(field) may be at most \(limit) characters; it is \(trimmed.count).")
        }
        return trimmed.isEmpty ? nil : trimmed
    }

    /// Required free text, trimmed, 1…`limit` characters.
    public static func requiredText(_ text: String?, field: String, limit: Int) throws -> String {
        guard let value = try optionalText(text, field: field, limit: limit) else {
            throw EphemeraError.badRequest("\(field)_required", "Say in '\(field)' why; it cannot be empty.")
        }
        return value
    }

    public static func decision(_ text: String?) throws -> AppealDecision {
        guard let text, let decision = AppealDecision(rawValue: text) else {
            throw EphemeraError.invalidValue(field: "decision", value: text ?? "", accepted: AppealDecision.allCases.map(\.rawValue))
        }
        return decision
    }
}

extension EphemeraError {
    /// Moderation routes answer members as if they did not exist: the queue is not theirs to see.
    public static let moderationNotFound = EphemeraError(.notFound, "not_found", "There is nothing here.")
    public static let reportNotFound = EphemeraError(.notFound, "report_not_found", "There is no report with that id.")
    public static let appealNotFound = EphemeraError(.notFound, "appeal_not_found", "There is no appeal with that id.")
}
