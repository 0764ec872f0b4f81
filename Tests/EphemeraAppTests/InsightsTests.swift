import EphemeraCore
import EphemeraTestSupport
import Foundation
import HummingbirdTesting
import SQLKit
import Testing

/// Creator insights (issue 20, point 2): counts of how a segment was seen and left, for its author only, kept
/// without viewers' names and purged with the segment.
@Suite struct InsightsTests {
    @Test(arguments: Backend.all)
    func impressionsReachTapsAndCompletionsAreCountedForTheAuthorAlone(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let carol = try await app.signUp("carol")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]

            // Bob sees it twice (one person, two impressions); alice's own look counts for nothing.
            for token in [bob, bob, alice] {
                #expect(try await app.request(.post, "/api/v1/stories/\(id)/views", token: token).status == .noContent)
            }
            app.clock.advance(by: .seconds(9000))
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/views", token: carol).status == .noContent)
            func report(_ token: String?, _ body: [String: any Sendable]) async throws -> TestResponse {
                try await app.request(.post, "/api/v1/stories/\(id)/navigation", token: token, json: body)
            }
            #expect(try await report(bob, ["events": ["forward", "complete"]]).status == .noContent)
            #expect(try await report(carol, ["event": "exit"]).status == .noContent)
            #expect(try await report(nil, ["event": "back"]).status == .noContent)  // a public story, signed out
            #expect(try await report(alice, ["events": ["forward", "forward"]]).status == .noContent)  // not counted
            #expect(try await app.request(.put, "/api/v1/stories/\(id)/reaction", token: bob, json: ["emoji": "🔥"]).status == .noContent)
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/replies", token: carol, json: ["text": "Nice"]).status == .created)
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/shares", token: bob).status == .created)

            let insights = try await app.request(.get, "/api/v1/stories/\(id)/insights", token: alice).decode(API.Insights.self)
            #expect(insights == API.Insights(impressions: 3, reach: 2, completionRate: 0.333, tapsForward: 1, tapsBack: 1, exits: 1,
                                         replies: 1, reactions: 1, shares: 1, downloads: 0, viewsByHour: [1, 0, 1]))
            let notHers = try await app.request(.get, "/api/v1/stories/\(id)/insights", token: bob)
            #expect(notHers.status == .notFound && notHers.errorCode == "story_not_found")

            // Bad reports are refused with the error shape.
            let refusals: [([String: any Sendable], String)] = [
                (["event": "jump"], "invalid_event"),
                (["events": [String]()], "invalid_events"),
                (["events": Array(repeating: "forward", count: 51)], "invalid_events"),
                ([:], "invalid_events"),
            ]
            for (body, code) in refusals {
                let refused = try await report(bob, body)
                #expect(refused.status == .badRequest && refused.errorCode == code, "\(body): \(refused.text)")
            }
            // Nothing names who reported: the counters are the only trace.
            let columns = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT tap_forward_count, completion_count FROM segments WHERE id = \(bind: id)").first()
                    .map { [try $0.decode(column: "tap_forward_count", as: Int.self), try $0.decode(column: "completion_count", as: Int.self)] }
            }
            #expect(columns == [1, 1])

            // Purged with the segment: the receipt names them, the tombstone keeps the totals.
            _ = try await app.request(.delete, "/api/v1/stories/\(id)?permanent=true", token: alice)
            try await app.processJobs()
            let receipt = try await app.request(.get, "/api/v1/stories/\(id)/deletion-receipt", token: alice).decode(API.Receipt.self)
            #expect(receipt.entries.contains { $0.removed.contains("3 impressions") && $0.removed.contains("1 completions") },
                    "\(receipt.entries)")
            let kept = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT impression_count, exit_count FROM tombstones WHERE segment_id = \(bind: id)").first()
                    .map { [try $0.decode(column: "impression_count", as: Int.self), try $0.decode(column: "exit_count", as: Int.self)] }
            }
            #expect(kept == [3, 1])
        }
    }

    @Test func completionRateAndViewsByHourFollowTheirRules() {
        func insights(impressions: Int, completions: Int) -> SegmentInsights {
            SegmentInsights(impressions: impressions, reach: 0, tapsForward: 0, tapsBack: 0, exits: 0, completions: completions,
                            replies: 0, reactions: 0, shares: 0, downloads: 0, viewsByHour: [])
        }
        #expect(insights(impressions: 0, completions: 0).completionRate == 0)
        #expect(insights(impressions: 4, completions: 1).completionRate == 0.25)
        #expect(insights(impressions: 1, completions: 3).completionRate == 1)
        let live = Instant(milliseconds: 0)
        let hour: (Double) -> Instant = { Instant(milliseconds: Int64($0 * 3_600_000)) }
        #expect(SegmentInsights.viewsByHour([hour(0.1), hour(0.9), hour(2.5)], liveAt: live, until: hour(3)) == [2, 0, 1])
        #expect(SegmentInsights.viewsByHour([], liveAt: live, until: live) == [0])
        #expect(SegmentInsights.viewsByHour([hour(30)], liveAt: live, until: hour(72), maxHours: 24).count == 24)
    }
}
