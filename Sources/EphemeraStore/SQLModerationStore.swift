import EphemeraCore
import SQLKit

/// Reports, takedowns, appeals and the moderation log in SQL. Every action writes its log line in the same
/// transaction as the action itself, so the log can never miss one.
public struct SQLModerationStore: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    // MARK: Reports

    /// Files a report; a second open report by the same person on the same segment is a conflict.
    public func report(segmentID: String, reporterID: String, reason: ReportReason, details: String?, at now: Instant)
        async throws -> Report
    {
        let report = Report(id: IDs.make(), segmentID: segmentID, reporterID: reporterID, reason: reason, details: details,
                            status: .open, createdAt: now)
        try await database.transaction(affectingTrays: false) { sql in
            guard let segment = try await SQLSegmentStore.segment(id: segmentID, on: sql) else { throw EphemeraError.storyNotFound }
            let open = try await sql.raw("""
                SELECT id FROM reports WHERE reporter_id = \(bind: reporterID) AND segment_id = \(bind: segmentID)
                AND status = 'open'
                """).first()
            try ModerationRules.checkReport(reporterID: reporterID, authorID: segment.authorID, alreadyOpen: open != nil)
            try await sql.raw("""
                INSERT INTO reports (id, segment_id, reporter_id, reason, details, status, created_at) VALUES (
                \(bind: report.id), \(bind: segmentID), \(bind: reporterID), \(bind: reason.rawValue), \(bind: details),
                'open', \(bind: now.milliseconds))
                """).run()
            try await Self.log(.report, segmentID: segmentID, subjectID: report.id, actorID: reporterID,
                               reason: reason.rawValue, detail: details, at: now, on: sql)
        }
        return report
    }

    /// Segments with open reports, the longest waiting first, with those reports.
    public func queue(limit: Int, after cursor: PageCursor?) async throws -> Page<QueuedSegment> {
        try await database.withConnection { sql in
            var query: SQLQueryString = """
                SELECT q.first_at, \(SQLSegmentStore.columns) FROM (
                  SELECT segment_id, MIN(created_at) AS first_at FROM reports WHERE status = 'open' GROUP BY segment_id
                ) q JOIN segments s ON s.id = q.segment_id WHERE 1 = 1
                """
            query += Keyset.continuing(after: cursor, instant: "q.first_at", id: "s.id", descending: false, limit: limit)
            let rows = try await sql.raw(query).all()
            let segments = try rows.prefix(limit).map {
                (try SQLSegmentStore.segment(from: $0), Instant(milliseconds: try $0.decode(column: "first_at", as: Int64.self)))
            }
            var reports: [String: [Report]] = [:]
            if !segments.isEmpty {
                for row in try await sql.raw("""
                    SELECT \(Self.reportColumns) FROM reports WHERE status = 'open'
                    AND segment_id IN (\(binds: segments.map(\.0.id))) ORDER BY created_at, id
                    """).all() {
                    let report = try Self.report(from: row)
                    reports[report.segmentID, default: []].append(report)
                }
            }
            let items = segments.map { QueuedSegment(segment: $0.0, reports: reports[$0.0.id] ?? [], firstReportedAt: $0.1) }
            return Page(items: items, nextCursor: rows.count > limit
                        ? items.last.map { PageCursor(instant: $0.firstReportedAt.milliseconds, id: $0.segment.id).encoded }
                        : nil)
        }
    }

    /// Resolved reports, the most recently resolved first: who decided what and when.
    public func resolvedReports(limit: Int, after cursor: PageCursor?) async throws -> Page<Report> {
        try await database.withConnection { sql in
            var query: SQLQueryString = "SELECT \(Self.reportColumns) FROM reports r WHERE r.status <> 'open'"
            query += Keyset.continuing(after: cursor, instant: "r.resolved_at", id: "r.id", limit: limit)
            return try Keyset.page(try await sql.raw(query).all(), limit: limit, item: Self.report(from:)) {
                PageCursor(instant: $0.resolvedAt?.milliseconds ?? 0, id: $0.id)
            }
        }
    }

    /// Whether moderators may look at the segment whatever its audience: it is removed, or has an open report.
    public func isUnderReview(_ segment: Segment) async throws -> Bool {
        if segment.state == .removed { return true }
        guard segment.state != .purging, segment.state != .purged else { return false }
        return try await database.withConnection { sql in
            try await sql.raw("SELECT 1 AS one FROM reports WHERE segment_id = \(bind: segment.id) AND status = 'open'")
                .first() != nil
        }
    }

    public func report(id: String) async throws -> Report? {
        try await database.withConnection { sql in
            try await sql.raw("SELECT \(Self.reportColumns) FROM reports WHERE id = \(bind: id)").first().map(Self.report(from:))
        }
    }

    /// Closes an open report without action.
    public func dismiss(reportID: String, moderatorID: String, at now: Instant) async throws -> Report {
        try await database.transaction(affectingTrays: false) { sql in
            guard var report = try await sql.raw("SELECT \(Self.reportColumns) FROM reports WHERE id = \(bind: reportID)")
                .first().map(Self.report(from:)) else { throw EphemeraError.reportNotFound }
            guard report.status == .open else {
                throw EphemeraError.conflict("report_resolved", "This report was already \(report.status.rawValue).")
            }
            try await sql.raw("""
                UPDATE reports SET status = 'dismissed', resolved_by = \(bind: moderatorID), resolved_at = \(bind: now.milliseconds)
                WHERE id = \(bind: reportID)
                """).run()
            try await Self.log(.dismiss, segmentID: report.segmentID, subjectID: reportID, actorID: moderatorID,
                               reason: report.reason.rawValue, detail: nil, at: now, on: sql)
            report.status = .dismissed
            report.resolvedBy = moderatorID
            report.resolvedAt = now
            return report
        }
    }

    // MARK: Takedowns

    /// Takes a segment down: `removed`, hidden everywhere at once (one transaction with the state change), its
    /// open reports resolved. A segment taken down again after a restore gets a fresh takedown to appeal.
    public func takedown(segmentID: String, moderatorID: String, reason: String, at now: Instant) async throws -> Segment {
        try await database.transaction { sql in
            guard var segment = try await SQLSegmentStore.segment(id: segmentID, on: sql) else {
                throw EphemeraError.storyNotFound
            }
            let next = try Lifecycle.apply(.takedown, to: segment.state, expired: segment.isExpired(at: now))
            try await SQLSegmentStore.moveOrConflict(segment, to: next, on: sql)
            try await sql.raw("DELETE FROM takedowns WHERE segment_id = \(bind: segmentID)").run()
            try await sql.raw("DELETE FROM appeals WHERE segment_id = \(bind: segmentID)").run()
            try await sql.raw("""
                INSERT INTO takedowns (segment_id, reason, moderator_id, created_at)
                VALUES (\(bind: segmentID), \(bind: reason), \(bind: moderatorID), \(bind: now.milliseconds))
                """).run()
            try await sql.raw("""
                UPDATE reports SET status = 'actioned', resolved_by = \(bind: moderatorID), resolved_at = \(bind: now.milliseconds)
                WHERE segment_id = \(bind: segmentID) AND status = 'open'
                """).run()
            try await Self.log(.takedown, segmentID: segmentID, subjectID: nil, actorID: moderatorID, reason: reason,
                               detail: nil, at: now, on: sql)
            segment.state = next
            return segment
        }
    }

    public func takedown(segmentID: String) async throws -> Takedown? {
        try await database.withConnection { sql in try await Self.takedown(segmentID: segmentID, on: sql) }
    }

    static func takedown(segmentID: String, on sql: any SQLDatabase) async throws -> Takedown? {
        try await sql.raw("SELECT \(takedownColumns) FROM takedowns t WHERE t.segment_id = \(bind: segmentID)")
            .first().map(takedown(from:))
    }

    /// When the legal hold on a removed segment ends; nil when there is none.
    static func holdUntil(segmentID: String, on sql: any SQLDatabase) async throws -> Instant? {
        try await takedown(segmentID: segmentID, on: sql)?.holdUntil
    }

    /// The author's removed segments they have not deleted from their view, most recently removed first,
    /// with the takedown and the appeal.
    public func removed(authorID: String, limit: Int, after cursor: PageCursor?)
        async throws -> Page<(segment: Segment, takedown: Takedown, appeal: Appeal?)>
    {
        try await database.withConnection { sql in
            var query: SQLQueryString = """
                SELECT \(Self.takedownColumns), \(Self.joinedAppealColumns), \(SQLSegmentStore.columns) FROM segments s
                JOIN takedowns t ON t.segment_id = s.id LEFT JOIN appeals a ON a.segment_id = s.id
                WHERE s.author_id = \(bind: authorID) AND s.state = 'removed' AND s.discarded_at IS NULL
                """
            query += Keyset.continuing(after: cursor, instant: "t.created_at", id: "s.id", limit: limit)
            return try Keyset.page(try await sql.raw(query).all(), limit: limit, item: { row in
                (try SQLSegmentStore.segment(from: row), try Self.takedown(from: row), try Self.joinedAppeal(from: row))
            }) { PageCursor(instant: $0.takedown.createdAt.milliseconds, id: $0.segment.id) }
        }
    }

    /// The author deletes a removed segment: under legal hold it only leaves their view (the purge waits for
    /// the hold); otherwise it is purged like any permanent delete. Returns when the hold ends, if it is held.
    public func discard(segmentID: String, authorID: String, at now: Instant) async throws -> Instant? {
        try await database.transaction { sql in
            guard let segment = try await SQLSegmentStore.segment(id: segmentID, on: sql), segment.authorID == authorID,
                  segment.state == .removed else { throw EphemeraError.storyNotFound }
            switch ModerationRules.authorDeletesRemoved(holdUntil: try await Self.holdUntil(segmentID: segmentID, on: sql), at: now) {
            case .hideUntil(let until):
                try await sql.raw("""
                    UPDATE segments SET discarded_at = \(bind: now.milliseconds) WHERE id = \(bind: segmentID)
                    """).run()
                return until
            case .purge:
                _ = try await SQLDeletionStore.beginPurge(segmentID: segmentID, now: now, on: sql)
                return nil
            }
        }
    }

    // MARK: Appeals

    /// The author's one appeal against the takedown of their segment.
    public func appeal(segmentID: String, authorID: String, message: String, at now: Instant) async throws -> Appeal {
        let appeal = Appeal(id: IDs.make(), segmentID: segmentID, message: message, createdAt: now)
        try await database.transaction(affectingTrays: false) { sql in
            guard let segment = try await SQLSegmentStore.segment(id: segmentID, on: sql), segment.authorID == authorID,
                  ![.purging, .purged].contains(segment.state) else { throw EphemeraError.storyNotFound }
            let existing = try await sql.raw("SELECT id FROM appeals WHERE segment_id = \(bind: segmentID)").first()
            try ModerationRules.checkAppeal(state: segment.state, alreadyAppealed: existing != nil)
            try await sql.raw("""
                INSERT INTO appeals (id, segment_id, message, created_at)
                VALUES (\(bind: appeal.id), \(bind: segmentID), \(bind: message), \(bind: now.milliseconds))
                """).run()
            try await Self.log(.appeal, segmentID: segmentID, subjectID: appeal.id, actorID: authorID, reason: nil,
                               detail: message, at: now, on: sql)
        }
        return appeal
    }

    public func appeal(segmentID: String) async throws -> Appeal? {
        try await database.withConnection { sql in
            try await sql.raw("SELECT \(Self.appealColumns) FROM appeals WHERE segment_id = \(bind: segmentID)")
                .first().map(Self.appeal(from:))
        }
    }

    /// Appeals waiting for a decision, oldest first, with their segments and takedowns.
    public func openAppeals(limit: Int) async throws -> [(appeal: Appeal, segment: Segment, takedown: Takedown)] {
        try await database.withConnection { sql in
            try await sql.raw("""
                SELECT \(Self.takedownColumns), \(Self.joinedAppealColumns), \(SQLSegmentStore.columns) FROM appeals a
                JOIN segments s ON s.id = a.segment_id JOIN takedowns t ON t.segment_id = a.segment_id
                WHERE a.decision IS NULL ORDER BY a.created_at, a.id LIMIT \(literal: limit)
                """).all().compactMap { row in
                guard let appeal = try Self.joinedAppeal(from: row) else { return nil }
                return (appeal, try SQLSegmentStore.segment(from: row), try Self.takedown(from: row))
            }
        }
    }

    /// Decides an appeal. Four eyes: the moderator who took the segment down may not decide it. Restore brings
    /// it back (`live`, or `archived` when it expired meanwhile); uphold keeps it hidden under legal hold until
    /// `now + legalHold`, after which `releaseEndedHolds` purges it.
    public func decide(appealID: String, moderatorID: String, decision: AppealDecision, note: String?,
                       legalHold: Duration, at now: Instant) async throws -> (Appeal, Segment) {
        try await database.transaction { sql in
            guard var appeal = try await sql.raw("SELECT \(Self.appealColumns) FROM appeals WHERE id = \(bind: appealID)")
                .first().map(Self.appeal(from:)) else { throw EphemeraError.appealNotFound }
            guard appeal.decision == nil else {
                throw EphemeraError.conflict("appeal_decided", "This appeal was already decided (\(appeal.decision!.rawValue)).")
            }
            guard var segment = try await SQLSegmentStore.segment(id: appeal.segmentID, on: sql),
                  let takedown = try await Self.takedown(segmentID: appeal.segmentID, on: sql) else {
                throw EphemeraError.appealNotFound
            }
            guard ModerationRules.mayDecideAppeal(decider: moderatorID, tookDownBy: takedown.moderatorID) else {
                throw EphemeraError(.forbidden, "four_eyes_required",
                                    "You took this story down, so another moderator must decide its appeal.")
            }
            switch decision {
            case .restore:
                let next = try Lifecycle.apply(.reinstate, to: segment.state, expired: segment.isExpired(at: now))
                try await SQLSegmentStore.moveOrConflict(segment, to: next, on: sql)
                segment.state = next
            case .uphold:
                guard segment.state == .removed else {
                    throw EphemeraError.conflict("not_removed", "This story is no longer removed.")
                }
                try await sql.raw("""
                    UPDATE takedowns SET hold_until = \(bind: (now + legalHold).milliseconds) WHERE segment_id = \(bind: segment.id)
                    """).run()
            }
            try await sql.raw("""
                UPDATE appeals SET decision = \(bind: decision.rawValue), decided_by = \(bind: moderatorID),
                decided_at = \(bind: now.milliseconds), note = \(bind: note) WHERE id = \(bind: appealID)
                """).run()
            try await Self.log(decision == .restore ? .restore : .uphold, segmentID: segment.id, subjectID: appealID,
                               actorID: moderatorID, reason: nil, detail: note, at: now, on: sql)
            appeal.decision = decision
            appeal.decidedBy = moderatorID
            appeal.decidedAt = now
            appeal.note = note
            return (appeal, segment)
        }
    }

    /// Begins the purge of removed segments whose legal hold has ended; returns how many.
    public func releaseEndedHolds(now: Instant, limit: Int = 500) async throws -> Int {
        let due = try await database.withConnection { sql in
            try await sql.raw("""
                SELECT t.segment_id FROM takedowns t JOIN segments s ON s.id = t.segment_id
                WHERE s.state = 'removed' AND t.hold_until IS NOT NULL AND t.hold_until <= \(bind: now.milliseconds)
                ORDER BY t.hold_until LIMIT \(literal: limit)
                """).all().map { try $0.decode(column: "segment_id", as: String.self) }
        }
        guard !due.isEmpty else { return 0 }
        return try await database.transaction { sql in
            var count = 0
            for id in due where try await SQLDeletionStore.beginPurge(segmentID: id, now: now, on: sql) {
                try await Self.log(.purgeAfterHold, segmentID: id, subjectID: nil, actorID: nil,
                                   reason: "legal hold ended", detail: nil, at: now, on: sql)
                count += 1
            }
            return count
        }
    }

    // MARK: Log

    /// The moderation log, newest first.
    public func log(limit: Int, after cursor: PageCursor?) async throws -> Page<ModerationLogEntry> {
        try await database.withConnection { sql in
            var query: SQLQueryString = """
                SELECT id, at, action, segment_id, subject_id, actor_id, reason, detail FROM moderation_log l WHERE 1 = 1
                """
            query += Keyset.continuing(after: cursor, instant: "l.at", id: "l.id", limit: limit)
            return try Keyset.page(try await sql.raw(query).all(), limit: limit, item: { row in
                ModerationLogEntry(
                    id: try row.decode(column: "id", as: String.self),
                    at: Instant(milliseconds: try row.decode(column: "at", as: Int64.self)),
                    action: ModerationAction(rawValue: try row.decode(column: "action", as: String.self)) ?? .report,
                    segmentID: try row.decode(column: "segment_id", as: String?.self),
                    subjectID: try row.decode(column: "subject_id", as: String?.self),
                    actorID: try row.decode(column: "actor_id", as: String?.self),
                    reason: try row.decode(column: "reason", as: String?.self),
                    detail: try row.decode(column: "detail", as: String?.self))
            }) { PageCursor(instant: $0.at.milliseconds, id: $0.id) }
        }
    }

    /// Appends a line to the log (inside the caller's transaction).
    static func log(_ action: ModerationAction, segmentID: String?, subjectID: String?, actorID: String?,
                    reason: String?, detail: String?, at now: Instant, on sql: any SQLDatabase) async throws {
        try await sql.raw("""
            INSERT INTO moderation_log (id, at, action, segment_id, subject_id, actor_id, reason, detail) VALUES (
            \(bind: IDs.make()), \(bind: now.milliseconds), \(bind: action.rawValue), \(bind: segmentID), \(bind: subjectID),
            \(bind: actorID), \(bind: reason), \(bind: detail))
            """).run()
    }

    /// Records a role change made by an operator.
    public func logRoleChange(accountID: String, role: Role, at now: Instant) async throws {
        try await database.transaction(affectingTrays: false) { sql in
            try await Self.log(.promote, segmentID: nil, subjectID: accountID, actorID: nil, reason: role.rawValue,
                               detail: nil, at: now, on: sql)
        }
    }

    // MARK: Rows

    static let reportColumns: SQLQueryString =
        "id, segment_id, reporter_id, reason, details, status, created_at, resolved_by, resolved_at"
    static let appealColumns: SQLQueryString =
        "id, segment_id, message, created_at, decision, decided_by, decided_at, note"
    static let takedownColumns: SQLQueryString = """
        t.segment_id AS t_segment_id, t.reason AS t_reason, t.moderator_id AS t_moderator_id, \
        t.created_at AS t_created_at, t.hold_until AS t_hold_until
        """
    /// An appeal's columns beside a segment's, which share some of their names.
    static let joinedAppealColumns: SQLQueryString = """
        a.id AS a_id, a.message AS a_message, a.created_at AS a_created_at, a.decision AS a_decision, \
        a.decided_by AS a_decided_by, a.decided_at AS a_decided_at, a.note AS a_note
        """

    static func takedown(from row: any SQLRow) throws -> Takedown {
        Takedown(
            segmentID: try row.decode(column: "t_segment_id", as: String.self),
            reason: try row.decode(column: "t_reason", as: String.self),
            moderatorID: try row.decode(column: "t_moderator_id", as: String?.self),
            createdAt: Instant(milliseconds: try row.decode(column: "t_created_at", as: Int64.self)),
            holdUntil: try row.decode(column: "t_hold_until", as: Int64?.self).map(Instant.init(milliseconds:)))
    }

    /// The appeal of a row joined with `joinedAppealColumns` (nil when the LEFT JOIN found none).
    static func joinedAppeal(from row: any SQLRow) throws -> Appeal? {
        guard let id = try row.decode(column: "a_id", as: String?.self) else { return nil }
        return Appeal(
            id: id,
            segmentID: try row.decode(column: "t_segment_id", as: String.self),
            message: try row.decode(column: "a_message", as: String.self),
            createdAt: Instant(milliseconds: try row.decode(column: "a_created_at", as: Int64.self)),
            decision: try row.decode(column: "a_decision", as: String?.self).flatMap(AppealDecision.init(rawValue:)),
            decidedBy: try row.decode(column: "a_decided_by", as: String?.self),
            decidedAt: try row.decode(column: "a_decided_at", as: Int64?.self).map(Instant.init(milliseconds:)),
            note: try row.decode(column: "a_note", as: String?.self))
    }

    static func report(from row: any SQLRow) throws -> Report {
        Report(
            id: try row.decode(column: "id", as: String.self),
            segmentID: try row.decode(column: "segment_id", as: String.self),
            reporterID: try row.decode(column: "reporter_id", as: String.self),
            reason: ReportReason(rawValue: try row.decode(column: "reason", as: String.self)) ?? .other,
            details: try row.decode(column: "details", as: String?.self),
            status: ReportStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
            createdAt: Instant(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            resolvedBy: try row.decode(column: "resolved_by", as: String?.self),
            resolvedAt: try row.decode(column: "resolved_at", as: Int64?.self).map(Instant.init(milliseconds:)))
    }

    static func appeal(from row: any SQLRow) throws -> Appeal {
        Appeal(
            id: try row.decode(column: "id", as: String.self),
            segmentID: try row.decode(column: "segment_id", as: String.self),
            message: try row.decode(column: "message", as: String.self),
            createdAt: Instant(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            decision: try row.decode(column: "decision", as: String?.self).flatMap(AppealDecision.init(rawValue:)),
            decidedBy: try row.decode(column: "decided_by", as: String?.self),
            decidedAt: try row.decode(column: "decided_at", as: Int64?.self).map(Instant.init(milliseconds:)),
            note: try row.decode(column: "note", as: String?.self))
    }
}
