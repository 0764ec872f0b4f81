/// How a viewer left a segment, as the viewer's client reports it (API.md, "Insights"). Counted per segment,
/// never stored with who reported it.
public enum NavigationEvent: String, Sendable, Hashable, CaseIterable {
    /// Tapped on to the next segment before this one ended.
    case forward
    /// Tapped back to the previous one.
    case back
    /// Closed the viewer (or left the page) on it.
    case exit
    /// Watched it to its end.
    case complete

    /// Events in one report: 1 to 50 known names (a client sends what it gathered since its last report).
    public static let maxPerReport = 50

    public static func parse(_ names: [String]) throws -> [NavigationEvent] {
        guard !names.isEmpty, names.count <= maxPerReport else {
            throw EphemeraError.badRequest(
                "invalid_events", "Send 1 to \(maxPerReport) navigation events: {\"event\": \"forward\"} or {\"events\": [...]}.")
        }
        return try names.map { name in
            guard let event = NavigationEvent(rawValue: name) else {
                throw EphemeraError.invalidValue(field: "event", value: String(name.prefix(20)),
                                                 accepted: NavigationEvent.allCases.map(\.rawValue))
            }
            return event
        }
    }

    /// How many of each of `events`.
    public static func tally(_ events: [NavigationEvent]) -> [NavigationEvent: Int] {
        events.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }

    /// Only what others do to a segment counts: its author's own taps say nothing about their audience.
    public static func counts(reportedBy viewerID: String?, authorID: String) -> Bool { viewerID != authorID }
}

/// A segment's insights for its author: counts only, no viewer named.
public struct SegmentInsights: Sendable, Hashable {
    /// Times it was shown to someone other than its author.
    public var impressions: Int
    /// Distinct people it was shown to.
    public var reach: Int
    public var tapsForward: Int
    public var tapsBack: Int
    public var exits: Int
    public var completions: Int
    public var replies: Int
    public var reactions: Int
    public var shares: Int
    public var downloads: Int
    /// Distinct viewers by hour since it went live (index 0: its first hour), for the chart of views over its life.
    public var viewsByHour: [Int]

    public init(impressions: Int, reach: Int, tapsForward: Int, tapsBack: Int, exits: Int, completions: Int, replies: Int,
                reactions: Int, shares: Int, downloads: Int, viewsByHour: [Int]) {
        self.impressions = impressions
        self.reach = reach
        self.tapsForward = tapsForward
        self.tapsBack = tapsBack
        self.exits = exits
        self.completions = completions
        self.replies = replies
        self.reactions = reactions
        self.shares = shares
        self.downloads = downloads
        self.viewsByHour = viewsByHour
    }

    /// Completions ÷ impressions (API.md), 0 before any impression, never above 1 (a client may report a
    /// completion whose impression it never sent).
    public var completionRate: Double {
        impressions > 0 ? min(1, Double(completions) / Double(impressions)) : 0
    }

    /// Views by hour from the first-view instants of its viewers: one bucket per hour begun between `liveAt`
    /// and `until` (the segment's end, or now while it is live), at most `maxHours`.
    public static func viewsByHour(_ viewedAt: [Instant], liveAt: Instant, until: Instant, maxHours: Int = 48) -> [Int] {
        let elapsed = max(0, (until - liveAt).seconds)
        let hours = max(1, min(maxHours, Int((elapsed / 3600).rounded(.up))))
        var buckets = Array(repeating: 0, count: hours)
        for instant in viewedAt where instant >= liveAt {
            let hour = Int((instant - liveAt).seconds / 3600)
            buckets[min(hour, hours - 1)] += 1
        }
        return buckets
    }
}
