/// The records of moderation (DESIGN.md, "Interactions"; API.md, "Moderation"), kept by EphemeraStore.

/// A report of a segment by someone who could see it.
public struct Report: Sendable, Hashable {
    public var id: String
    public var segmentID: String
    public var reporterID: String
    public var reason: ReportReason
    public var details: String?
    public var status: ReportStatus
    public var createdAt: Instant
    public var resolvedBy: String?
    public var resolvedAt: Instant?

    public init(id: String, segmentID: String, reporterID: String, reason: ReportReason, details: String? = nil, status: ReportStatus, createdAt: Instant, resolvedBy: String? = nil, resolvedAt: Instant? = nil) {
        self.id = id
        self.segmentID = segmentID
        self.reporterID = reporterID
        self.reason = reason
        self.details = details
        self.status = status
        self.createdAt = createdAt
        self.resolvedBy = resolvedBy
        self.resolvedAt = resolvedAt
    }
}

/// Why and by whom a segment was taken down, and the legal hold an upheld appeal started.
public struct Takedown: Sendable, Hashable {
    public var segmentID: String
    public var reason: String
    public var moderatorID: String?
    public var createdAt: Instant
    public var holdUntil: Instant?

    public init(segmentID: String, reason: String, moderatorID: String? = nil, createdAt: Instant, holdUntil: Instant? = nil) {
        self.segmentID = segmentID
        self.reason = reason
        self.moderatorID = moderatorID
        self.createdAt = createdAt
        self.holdUntil = holdUntil
    }
}

/// The author's one appeal against a takedown, and its decision.
public struct Appeal: Sendable, Hashable {
    public var id: String
    public var segmentID: String
    public var message: String
    public var createdAt: Instant
    public var decision: AppealDecision?
    public var decidedBy: String?
    public var decidedAt: Instant?
    public var note: String?

    public init(id: String, segmentID: String, message: String, createdAt: Instant, decision: AppealDecision? = nil, decidedBy: String? = nil, decidedAt: Instant? = nil, note: String? = nil) {
        self.id = id
        self.segmentID = segmentID
        self.message = message
        self.createdAt = createdAt
        self.decision = decision
        self.decidedBy = decidedBy
        self.decidedAt = decidedAt
        self.note = note
    }
}

/// One line of the append-only moderation log.
public struct ModerationLogEntry: Sendable, Hashable {
    public var id: String
    public var at: Instant
    public var action: ModerationAction
    public var segmentID: String?
    /// The report or appeal the action concerns.
    public var subjectID: String?
    /// Who acted; nil once their account is deleted, or for the system (a hold ending).
    public var actorID: String?
    public var reason: String?
    /// Free text (report details, appeal message, a decision's note); nil once the segment is purged.
    public var detail: String?

    public init(id: String, at: Instant, action: ModerationAction, segmentID: String? = nil, subjectID: String? = nil, actorID: String? = nil, reason: String? = nil, detail: String? = nil) {
        self.id = id
        self.at = at
        self.action = action
        self.segmentID = segmentID
        self.subjectID = subjectID
        self.actorID = actorID
        self.reason = reason
        self.detail = detail
    }
}

/// A segment in the moderation queue with its open reports.
public struct QueuedSegment: Sendable {
    public var segment: Segment
    public var reports: [Report]
    public var firstReportedAt: Instant

    public init(segment: Segment, reports: [Report], firstReportedAt: Instant) {
        self.segment = segment
        self.reports = reports
        self.firstReportedAt = firstReportedAt
    }

    /// How many of the open reports give each reason.
    public var reasonCounts: [ReportReason: Int] {
        reports.reduce(into: [:]) { $0[$1.reason, default: 0] += 1 }
    }
}
