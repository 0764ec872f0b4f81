import EphemeraCore
import EphemeraTestSupport
import Foundation
import Testing

/// The archive as a place to relive (issue 20, point 4): my expired stories by day in a calendar, a day opened in
/// the viewer, and "On this day" on my profile a year later — with the injected clock.
@Suite struct ArchiveReliveTests {
    @Test(arguments: Backend.all)
    func aYearLaterTheArchiveShowsTheDayAndTheProfileSaysOnThisDay(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            // The clock starts on 2026-11-21 at noon (UTC).
            var jar = try await app.webSignUp("alice")
            let token = try #require(jar.cookies["ephemera_session"])
            let photo = try await MediaFixtures.shared.photo()
            let first = try await app.postLive(token, file: photo)[0]
            app.clock.advance(by: .seconds(3600))
            let second = try await app.postLive(token, file: photo)[0]
            app.clock.advance(by: .seconds(2 * 86400))
            let later = try await app.postLive(token, file: photo)[0]
            app.clock.advance(by: .seconds(2 * 86400))
            try await app.services.sweeper.sweep()

            // The calendar: November 2026 with the 21st and the 23rd holding stories.
            let archive = try await app.page("/archive", jar: &jar)
            #expect(archive.status == .ok)
            #expect(archive.text.contains("November 2026"))
            #expect(archive.text.contains("href=\"/archive/2026-11-21\"") && archive.text.contains("aria-label=\"21 November 2026: 2 stories\""))
            #expect(archive.text.contains("aria-label=\"23 November 2026: 1 story\""))
            #expect(!archive.text.contains("href=\"/archive/2026-11-22\""))
            // A day through the API, and in the viewer.
            let day = try await app.request(.get, "/api/v1/me/archive?day=2026-11-21", token: token).decode(API.Page<API.Segment>.self)
            #expect(day.items.map(\.id) == [first, second] && day.items.allSatisfy { $0.state == "archived" })
            let viewer = try await app.page("/archive/2026-11-21", jar: &jar)
            #expect(viewer.status == .ok && viewer.text.contains(first) && viewer.text.contains(second) && !viewer.text.contains(later))
            #expect(viewer.text.contains("21 November 2026"))
            for bad in ["2026-11-31", "2026-2-01", "yesterday", "2026-11-21x"] {
                let refused = try await app.request(.get, "/api/v1/me/archive?day=\(bad)", token: token)
                #expect(refused.status == .badRequest && refused.errorCode == "invalid_day", "\(bad)")
            }
            #expect(try await app.request(.get, "/api/v1/me/archive?day=2026-11-21").status == .unauthorized)

            // Nothing on this day yet; a year on from the 21st, the profile and the API say so.
            #expect(try await app.request(.get, "/api/v1/me/on-this-day", token: token).decode(API.OnThisDay.self).items.isEmpty)
            #expect(!(try await app.page("/@alice", jar: &jar)).text.contains("On this day"))
            app.clock.advance(by: .seconds(361 * 86400))  // 2027-11-21
            let onThisDay = try await app.request(.get, "/api/v1/me/on-this-day", token: token).decode(API.OnThisDay.self)
            #expect(onThisDay.items.map(\.yearsAgo) == [1] && onThisDay.items.map(\.date) == ["2026-11-21"])
            #expect(onThisDay.items.first?.segments.map(\.id) == [first, second])
            let profile = try await app.page("/@alice", jar: &jar)
            #expect(profile.text.contains("On this day") && profile.text.contains("1 year ago · 2 stories")
                    && profile.text.contains("href=\"/archive/2026-11-21\""))
            // Only on my own profile.
            var other = try await app.webSignUp("bob")
            #expect(!(try await app.page("/@alice", jar: &other)).text.contains("On this day"))
            // Two days later it is the 23rd's turn.
            app.clock.advance(by: .seconds(2 * 86400))
            #expect(try await app.request(.get, "/api/v1/me/on-this-day", token: token).decode(API.OnThisDay.self)
                .items.first?.segments.map(\.id) == [later])
        }
    }

    /// A page of the calendar reads the newest 500: a month it cuts short waits for "Older months", and a month
    /// that fills a page alone is shown whole.
    @Test(arguments: Backend.all)
    func theCalendarPagesByWholeMonths(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            var jar = try await app.webSignUp("alice")
            let alice = try #require(try await app.services.accounts.account(handle: "alice"))
            let november = try ArchiveCalendar.span(ofMonth: "2026-11").start
            let october = try ArchiveCalendar.span(ofMonth: "2026-10").start
            // Rows only (no media): 480 in November, 40 in October, and 530 in August — one month over a page.
            var rows: [(String, Instant)] = []
            for i in 0..<480 { rows.append(("n\(i)", november + .seconds(Int64(i) * 3600))) }
            for i in 0..<40 { rows.append(("o\(i)", october + .seconds(Int64(i) * 3600))) }
            let august = try ArchiveCalendar.span(ofMonth: "2026-08").start
            for i in 0..<530 { rows.append(("a\(i)", august + .seconds(Int64(i) * 3600))) }
            try await app.services.database.transaction { sql in
                for (id, at) in rows {
                    try await sql.raw("""
                        INSERT INTO segments (id, author_id, upload_id, position, kind, state, audience, created_at,
                        expires_at, duration_ms, width, height) VALUES (\(bind: id), \(bind: alice.id), 'u', 0, 'photo',
                        'archived', 'public', \(bind: at.milliseconds), \(bind: at.milliseconds + 86_400_000), 0, 1, 1)
                        """).run()
                }
            }
            func months(_ page: String) -> [String] {
                page.components(separatedBy: "data-month=\"").dropFirst().map { String($0.prefix(7)) }
            }
            let first = try await app.page("/archive", jar: &jar).text
            #expect(months(first) == ["2026-11"] && first.contains("href=\"/archive?before=2026-11\""))
            let second = try await app.page("/archive?before=2026-11", jar: &jar).text
            // October whole, then August alone fills the rest of the page and more: shown whole all the same.
            #expect(months(second) == ["2026-10"] && second.contains("href=\"/archive?before=2026-10\""))
            let third = try await app.page("/archive?before=2026-10", jar: &jar).text
            #expect(months(third) == ["2026-08"] && third.contains("aria-label=\"22 August 2026: 24 stories\""))
            let last = try await app.page("/archive?before=2026-08", jar: &jar).text
            #expect(months(last).isEmpty && last.contains("Nothing older in your archive."))
            #expect(try await app.page("/archive?before=2026-13", jar: &jar).status == .badRequest)
            try await app.services.database.withConnection { sql in try await sql.raw("DELETE FROM segments").run() }
        }
    }

    @Test func daysSpansAndMonthsFollowTheCalendar() throws {
        #expect(ArchiveCalendar.day(of: Instant(milliseconds: 1_795_262_400_000)) == "2026-11-21")
        let span = try ArchiveCalendar.span(ofDay: "2026-11-21")
        #expect(span.end - span.start == .seconds(86400) && ArchiveCalendar.day(of: span.start) == "2026-11-21")
        #expect(ArchiveCalendar.title(ofDay: "2026-11-21") == "21 November 2026")
        // November 2026 begins on a Sunday: six blanks before it, Monday first.
        let segment = Segment(id: "s", authorID: "a", kind: .photo, state: .archived, audience: .public, caption: nil,
                              createdAt: span.start + .seconds(60), expiresAt: span.end, uploadID: "u")
        let month = try #require(ArchiveCalendar.months(of: [segment]).first)
        #expect(month.title == "November 2026" && month.cells.prefix(6).allSatisfy { $0.day == nil } && month.cells.count == 36)
        #expect(month.cells.first { $0.day == 21 }?.count == 1 && month.cells.first { $0.day == 21 }?.coverSegmentID == "s")
        // A 29 February has no match in years that have none.
        let leap = try ArchiveCalendar.span(ofDay: "2028-02-29").start
        #expect(OnThisDay.days(before: leap, years: 4).map(\.day) == ["2024-02-29"])
        #expect(OnThisDay.days(before: span.start, years: 2).map(\.day) == ["2025-11-21", "2024-11-21"])
    }
}
