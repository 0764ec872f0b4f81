import Foundation

/// The archive as a place to relive (issue 20): my expired segments by day in a month calendar, and the days of
/// earlier years that fall on today's date. Days are UTC days.
public enum ArchiveCalendar {
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        calendar.firstWeekday = 2  // Monday
        return calendar
    }()

    static func date(_ instant: Instant) -> Date { Date(timeIntervalSince1970: Double(instant.milliseconds) / 1000) }
    static func instant(_ date: Date) -> Instant { Instant(milliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded())) }

    /// `YYYY-MM-DD` of the UTC day `instant` falls on.
    public static func day(of instant: Instant) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date(instant))
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    /// The instants a `YYYY-MM-DD` day spans, start inclusive, end exclusive; a 400 `invalid_day` otherwise.
    public static func span(ofDay text: String) throws -> (start: Instant, end: Instant) {
        let invalid = EphemeraError.badRequest("invalid_day", "A day is written YYYY-MM-DD, for example 2026-11-21.")
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]), year >= 1970,
              let start = calendar.date(from: DateComponents(year: year, month: month, day: day)),
              Self.day(of: instant(start)) == text,
              let end = calendar.date(byAdding: .day, value: 1, to: start)
        else { throw invalid }
        return (instant(start), instant(end))
    }

    /// The instants a `YYYY-MM` month spans; a 400 `invalid_month` otherwise.
    public static func span(ofMonth text: String) throws -> (start: Instant, end: Instant) {
        guard text.count == 7, let first = try? span(ofDay: text + "-01"),
              let end = calendar.date(byAdding: .month, value: 1, to: date(first.start)) else {
            throw EphemeraError.badRequest("invalid_month", "A month is written YYYY-MM, for example 2026-11.")
        }
        return (first.start, instant(end))
    }

    /// The months to show of a page of the archive (newest first) and the month to continue before: when more
    /// remain past the page, its oldest month may be cut short, so it is left for the next page. (When the page
    /// holds one month only, the caller shows that month whole instead.)
    public static func paged(_ months: [Month], morePastPage: Bool) -> (shown: [Month], continueBefore: String?) {
        guard morePastPage, months.count > 1 else { return (months, morePastPage ? months.last?.key : nil) }
        let shown = Array(months.dropLast())
        return (shown, shown.last?.key)
    }

    /// "21 November 2026" ("21 novembre 2026") for `2026-11-21`, whatever the machine's locale.
    public static func title(ofDay text: String, language: Language = .en) -> String {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, (1...12).contains(parts[1]) else { return text }
        return language.date(year: parts[0], month: parts[1], day: parts[2])
    }

    /// One square of a month: a day of it (with how many of my segments it holds and the one that stands for
    /// them), or a blank before the first.
    public struct Cell: Sendable, Hashable {
        public var day: Int?
        public var date: String?
        public var count: Int
        public var coverSegmentID: String?
    }

    public struct Month: Sendable, Hashable {
        /// "2026-11".
        public var key: String
        /// "November 2026".
        public var title: String
        /// Blanks up to the first day's weekday (Monday first), then every day of the month.
        public var cells: [Cell]
    }

    /// The months holding `segments`, newest first, each a full calendar month; a day's cover is its earliest
    /// segment.
    public static func months(of segments: [Segment], language: Language = .en) -> [Month] {
        var byDay: [String: [Segment]] = [:]
        for segment in segments { byDay[day(of: segment.createdAt), default: []].append(segment) }
        let monthKeys = Set(byDay.keys.map { String($0.prefix(7)) }).sorted(by: >)
        return monthKeys.compactMap { key in
            guard let year = Int(key.prefix(4)), let month = Int(key.suffix(2)),
                  let first = calendar.date(from: DateComponents(year: year, month: month, day: 1)),
                  let days = calendar.range(of: .day, in: .month, for: first) else { return nil }
            let weekday = calendar.component(.weekday, from: first)  // 1 Sunday … 7 Saturday
            let blanks = (weekday + 5) % 7  // Monday first
            var cells = Array(repeating: Cell(day: nil, date: nil, count: 0, coverSegmentID: nil), count: blanks)
            for dayNumber in days {
                let date = String(format: "%@-%02d", key, dayNumber)
                let held = (byDay[date] ?? []).sorted { $0.createdAt < $1.createdAt }
                cells.append(Cell(day: dayNumber, date: date, count: held.count, coverSegmentID: held.first?.id))
            }
            return Month(key: key, title: language.month(year: year, month: month), cells: cells)
        }
    }
}

/// "On this day": the same date in earlier years.
public enum OnThisDay {
    /// For each of the `years` years before `now`'s, the UTC day with `now`'s month and day (a 29 February
    /// has no match in other years), newest first.
    public static func days(before now: Instant, years: Int = 10) -> [(yearsAgo: Int, day: String, start: Instant, end: Instant)] {
        let today = ArchiveCalendar.day(of: now)
        guard let year = Int(today.prefix(4)) else { return [] }
        return (1...max(1, years)).compactMap { back in
            let day = String(format: "%04d", year - back) + today.dropFirst(4)
            guard let span = try? ArchiveCalendar.span(ofDay: day) else { return nil }
            return (back, day, span.start, span.end)
        }
    }
}
