import EphemeraCore
import EphemeraTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct ModerationTests {
    /// People and a public story: alice posts, bob and carol can report, two moderators and an admin.
    struct Cast: Sendable {
        var alice, bob, carol, mod1, mod2, admin: String
        var segment: String
    }

    static func cast(_ app: TestApp) async throws -> Cast {
        let alice = try await app.signUp("alice")
        let bob = try await app.signUp("bob")
        let carol = try await app.signUp("carol")
        let mod1 = try await app.signUp("mod1")
        let mod2 = try await app.signUp("mod2")
        let admin = try await app.signUp("admin")
        #expect(try await app.services.accounts.setRole(handle: "mod1", role: .moderator))
        #expect(try await app.services.accounts.setRole(handle: "mod2", role: .moderator))
        #expect(try await app.services.accounts.setRole(handle: "admin", role: .admin))
        let segment = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
        return Cast(alice: alice, bob: bob, carol: carol, mod1: mod1, mod2: mod2, admin: admin, segment: segment)
    }

    /// The items of a page of `Item`s.
    static func items<Item: Decodable & Sendable & Equatable>(_ response: TestResponse, _ type: Item.Type) throws -> [Item] {
        try response.decode(API.Page<Item>.self).items
    }

    @Test(arguments: Backend.all)
    func reportTakedownAppealAndRestore(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let c = try await Self.cast(app)
            let id = c.segment
            try await app.follow(c.bob, "alice")
            let share = try await app.request(.post, "/api/v1/stories/\(id)/shares", token: c.bob)
            let sharePath = try share.decode(API.ShareLink.self).shareUrl.replacingOccurrences(of: "http://stories.test", with: "")

            // Reports: one open report per person and segment, a known reason, never on one's own story.
            app.clock.advance(by: .seconds(1))
            let report = try await app.request(.post, "/api/v1/stories/\(id)/reports", token: c.bob, json: ["reason": "spam"])
            #expect(try report.status == .created && (report.decode(API.Report.self)).status == "open")
            let again = try await app.request(.post, "/api/v1/stories/\(id)/reports", token: c.bob, json: ["reason": "hate"])
            #expect(again.status == .conflict && again.errorCode == "already_reported")
            let unknown = try await app.request(.post, "/api/v1/stories/\(id)/reports", token: c.carol, json: ["reason": "boring"])
            #expect(unknown.status == .badRequest && unknown.errorCode == "invalid_reason")
            #expect(unknown.errorMessage?.contains("self_harm") == true)
            let own = try await app.request(.post, "/api/v1/stories/\(id)/reports", token: c.alice, json: ["reason": "spam"])
            #expect(own.status == .badRequest && own.errorCode == "cannot_report_own")
            app.clock.advance(by: .seconds(1))
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/reports", token: c.carol,
                                          json: ["reason": "hate", "details": "slurs in the caption"]).status == .created)
            // The author learns nothing of who reported.
            #expect(!(try await app.request(.get, "/api/v1/stories/\(id)", token: c.alice).text.contains("bob")))

            // The queue: grouped by segment, counts per reason, the segment with its media.
            let queue = try await app.request(.get, "/api/v1/moderation/reports", token: c.mod1)
            #expect(queue.status == .ok)
            let queued = try Self.items(queue, API.QueueItem.self)
            let item = try #require(queued.first)
            #expect(queued.count == 1 && item.reportCount == 2 && item.reports.count == 2)
            #expect(item.reasons == ["spam": 1, "hate": 1])
            #expect(item.segment.id == id && item.reports.allSatisfy { $0.segmentId == id && $0.status == "open" })
            #expect(try await app.request(.get, "/media/\(id)/photo.jpg", token: c.mod1).status == .ok)
            // A moderator's download of the reported story is part of the review, not a download (API and encrypted
            // forms); a viewer's still counts.
            func downloads() async throws -> Int {
                try await app.request(.get, "/api/v1/stories/\(id)", token: c.alice).decode(API.Segment.self).counts.downloads
            }
            _ = try await app.request(.get, "/api/v1/stories/\(id)/download", token: c.mod2)
            try await app.processJobs()
            #expect(try await app.request(.get, "/api/v1/stories/\(id)/download", token: c.mod2).status == .ok)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)/download?encrypted=true", token: c.mod2).status == .ok)
            #expect(try await downloads() == 0)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)/download", token: c.carol).status == .ok)
            #expect(try await downloads() == 1)

            // Takedown: hidden everywhere at once, like a deletion.
            app.clock.advance(by: .seconds(1))
            let takedown = try await app.request(.post, "/api/v1/moderation/stories/\(id)/takedown", token: c.mod1,
                                                 json: ["reason": "Spam links in the caption"])
            #expect(try takedown.status == .ok && (takedown.decode(API.Segment.self)).state == "removed")
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: c.bob).status == .notFound)
            #expect(try await app.request(.get, "/media/\(id)/photo.jpg", token: c.bob).status == .notFound)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)").status == .notFound)
            #expect(try await app.request(.get, "/api/v1/tray", token: c.bob).decode(API.Tray.self).items.isEmpty)
            #expect(try await app.request(.get, sharePath).status == .gone)
            #expect(try Self.items(try await app.request(.get, "/api/v1/moderation/reports", token: c.mod1), API.QueueItem.self).isEmpty)
            let resolved = try Self.items(try await app.request(.get, "/api/v1/moderation/reports?status=resolved", token: c.mod2),
                                          API.Report.self)
            #expect(resolved.count == 2 && resolved.allSatisfy { $0.status == "actioned" && $0.resolvedAt != nil })
            #expect(resolved.allSatisfy { $0.resolvedBy?.handle == "mod1" })
            let twice = try await app.request(.post, "/api/v1/moderation/stories/\(id)/takedown", token: c.mod2, json: ["reason": "x"])
            #expect(twice.status == .conflict)

            // The author sees why, in the story itself, the removed list and the activity inbox.
            let mine = try await app.request(.get, "/api/v1/stories/\(id)", token: c.alice).decode(API.Segment.self)
            #expect(mine.state == "removed" && mine.removal?.reason == "Spam links in the caption")
            let removed = try Self.items(try await app.request(.get, "/api/v1/me/removed", token: c.alice), API.Segment.self)
            #expect(removed.count == 1 && removed[0].removal?.canAppeal == true && removed[0].removal?.appeal == nil)
            let activity = try await app.request(.get, "/api/v1/me/activity", token: c.alice).decode(API.Activity.self).items
            #expect(activity.contains { $0.kind == "takedown" && $0.text == "Spam links in the caption" })

            // Appeal once; the moderator who took it down may not decide it.
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/appeals", token: c.alice, json: ["message": " "]).errorCode
                    == "message_required")
            app.clock.advance(by: .seconds(1))
            let appeal = try await app.request(.post, "/api/v1/stories/\(id)/appeals", token: c.alice,
                                               json: ["message": "Those links are my own shop."])
            #expect(appeal.status == .created)
            let appealID = try appeal.decode(API.Appeal.self).id
            let second = try await app.request(.post, "/api/v1/stories/\(id)/appeals", token: c.alice, json: ["message": "Please"])
            #expect(second.status == .conflict && second.errorCode == "already_appealed")
            let open = try Self.items(try await app.request(.get, "/api/v1/moderation/appeals", token: c.mod1), API.OpenAppeal.self)
            #expect(open.count == 1 && !open[0].canDecide && open[0].takenDownBy?.handle == "mod1")
            #expect(open[0].appeal.message == "Those links are my own shop." && open[0].segment.id == id)
            let own4 = try await app.request(.post, "/api/v1/moderation/appeals/\(appealID)/decision", token: c.mod1,
                                             json: ["decision": "restore"])
            #expect(own4.status == .forbidden && own4.errorCode == "four_eyes_required")
            let bad = try await app.request(.post, "/api/v1/moderation/appeals/\(appealID)/decision", token: c.mod2,
                                            json: ["decision": "maybe"])
            #expect(bad.status == .badRequest && bad.errorCode == "invalid_decision")
            app.clock.advance(by: .seconds(1))
            let decided = try await app.request(.post, "/api/v1/moderation/appeals/\(appealID)/decision", token: c.mod2,
                                                json: ["decision": "restore", "note": "Own shop; allowed."])
            let decision = try decided.decode(API.Decision.self)
            #expect(decided.status == .ok && decision.segment.state == "live")
            #expect(decision.appeal.decision == "restore" && decision.appeal.note == "Own shop; allowed.")
            #expect(try await app.request(.post, "/api/v1/moderation/appeals/\(appealID)/decision", token: c.admin,
                                          json: ["decision": "uphold"]).errorCode == "appeal_decided")

            // Back everywhere.
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: c.bob).status == .ok)
            #expect(try await app.request(.get, sharePath).status == .ok)
            #expect(try Self.items(try await app.request(.get, "/api/v1/me/removed", token: c.alice), API.Segment.self).isEmpty)

            // The log: every action, newest first, for admins only.
            let log = try await app.request(.get, "/api/v1/moderation/log", token: c.admin)
            #expect(try Self.items(log, API.LogEntry.self).map(\.action) == ["restore", "appeal", "takedown", "report", "report"])
            #expect(try await app.request(.get, "/api/v1/moderation/log", token: c.mod1).status == .notFound)
        }
    }

    @Test(arguments: Backend.all)
    func anUpheldTakedownIsHeldThenPurgedWithAReceipt(backend: Backend) async throws {
        try await TestApp.run(backend, configure: { $0.legalHold = .seconds(90 * 86400) }) { app in
            let c = try await Self.cast(app)
            let id = c.segment
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/reports", token: c.bob,
                                          json: ["reason": "violence", "details": "graphic"]).status == .created)
            #expect(try await app.request(.post, "/api/v1/moderation/stories/\(id)/takedown", token: c.mod1,
                                          json: ["reason": "Graphic violence"]).status == .ok)
            let appeal = try await app.request(.post, "/api/v1/stories/\(id)/appeals", token: c.alice, json: ["message": "It is a film"])
            let appealID = try appeal.decode(API.Appeal.self).id
            let uphold = try await app.request(.post, "/api/v1/moderation/appeals/\(appealID)/decision", token: c.admin,
                                               json: ["decision": "uphold", "note": "Real footage"])
            #expect(try uphold.status == .ok && (uphold.decode(API.Decision.self)).segment.state == "removed")
            let removal = try #require(try Self.items(try await app.request(.get, "/api/v1/me/removed", token: c.alice),
                                                      API.Segment.self).first?.removal)
            let holdUntil = try #require(removal.legalHoldUntil)
            #expect(holdUntil == (app.clock.now() + .seconds(90 * 86400)).rfc3339)
            #expect(removal.appeal?.decision == "uphold" && !removal.canAppeal)

            // The author deletes it from their view; the purge waits for the hold, whatever else asks for it.
            let delete = try await app.request(.delete, "/api/v1/stories/\(id)", token: c.alice)
            let deleted = try delete.decode(API.Deleted.self)
            #expect(delete.status == .ok && deleted.state == "removed" && deleted.legalHoldUntil == holdUntil)
            #expect(try Self.items(try await app.request(.get, "/api/v1/me/removed", token: c.alice), API.Segment.self).isEmpty)
            // Gone from every read of hers at once (the story, its media, her export); moderators still see it.
            let hidden = try await app.request(.get, "/api/v1/stories/\(id)", token: c.alice)
            #expect(hidden.status == .notFound && hidden.errorCode == "story_not_found")
            let media = try await app.request(.get, "/media/\(id)/photo.jpg", token: c.alice)
            #expect(media.status == .notFound && media.errorCode == "media_not_found")
            let export = try await app.request(.get, "/api/v1/me/export", token: c.alice)
            #expect(export.status == .ok && !String(decoding: Data(buffer: export.body), as: UTF8.self).contains(id))
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: c.mod2).decode(API.Segment.self).state == "removed")
            #expect(try await app.request(.delete, "/api/v1/stories/\(id)?permanent=true", token: c.alice).status == .ok)
            #expect(try await app.request(.delete, "/api/v1/me/stories", token: c.alice,
                                          json: ["password": "correct horse"]).status == .accepted)
            try await app.processJobs()
            app.clock.advance(by: .seconds(89 * 86400))
            try await app.services.sweeper.sweep()
            try await app.processJobs()
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: c.mod2).decode(API.Segment.self).state == "removed")

            // The hold ends: purged through the normal pipeline, with a receipt; the log keeps the facts only.
            app.clock.advance(by: .seconds(2 * 86400))
            try await app.services.sweeper.sweep()
            try await app.processJobs()
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: c.alice).status == .notFound)
            let receipt = try await app.request(.get, "/api/v1/stories/\(id)/deletion-receipt", token: c.alice)
            #expect(receipt.status == .ok)
            // The receipt names what went with the segment, moderation rows included.
            #expect(receipt.text.contains("1 takedowns") && receipt.text.contains("1 appeals") && receipt.text.contains("1 reports"),
                    "\(receipt.text)")
            let log = try Self.items(try await app.request(.get, "/api/v1/moderation/log", token: c.admin), API.LogEntry.self)
            #expect(log.first?.action == "purge_after_hold")
            #expect(log.allSatisfy { $0.detail == nil })
            #expect(log.map(\.action).contains("uphold"))
            // No log line about the purged segment names its author (her appeal was hers) or keeps free text
            // (the moderator's reason for the takedown); the reporters and moderators stay.
            let aliceID = try #require(try await app.services.accounts.account(handle: "alice")?.id)
            let rows = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT action, actor_id, reason, detail FROM moderation_log WHERE segment_id = \(bind: id)").all().map {
                    (action: try $0.decode(column: "action", as: String.self), actor: try $0.decode(column: "actor_id", as: String?.self),
                     reason: try $0.decode(column: "reason", as: String?.self), detail: try $0.decode(column: "detail", as: String?.self))
                }
            }
            #expect(Set(rows.map(\.action)) == ["report", "takedown", "appeal", "uphold", "purge_after_hold"])
            #expect(rows.allSatisfy { $0.actor != aliceID && $0.detail == nil })
            #expect(rows.first { $0.action == "takedown" }?.reason == nil)
            #expect(rows.first { $0.action == "report" }?.reason == "violence")
            #expect(rows.first { $0.action == "takedown" }?.actor != nil)
            #expect(try await app.audit().isEmpty)
        }
    }

    @Test(arguments: Backend.all)
    func anAccountDeletedDuringALegalHoldGoesOnceTheHoldEnds(backend: Backend) async throws {
        try await TestApp.run(backend, configure: { $0.legalHold = .seconds(7 * 86400) }) { app in
            let c = try await Self.cast(app)
            #expect(try await app.request(.post, "/api/v1/moderation/stories/\(c.segment)/takedown", token: c.mod1,
                                          json: ["reason": "Rule 1"]).status == .ok)
            let appeal = try await app.request(.post, "/api/v1/stories/\(c.segment)/appeals", token: c.alice, json: ["message": "no"])
            let appealID = try appeal.decode(API.Appeal.self).id
            #expect(try await app.request(.post, "/api/v1/moderation/appeals/\(appealID)/decision", token: c.mod2,
                                          json: ["decision": "uphold"]).status == .ok)
            #expect(try await app.request(.delete, "/api/v1/me", token: c.alice, json: ["password": "correct horse"]).status == .accepted)
            try await app.processJobs()
            #expect(try await app.request(.get, "/api/v1/users/alice", token: c.bob).status == .notFound)
            // The account's removal waits for the hold instead of retrying every few seconds meanwhile.
            let retryAt = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT run_at FROM jobs WHERE kind = 'delete_account' AND state = 'queued'").first()?
                    .decode(column: "run_at", as: Int64.self)
            }
            #expect(retryAt == (app.clock.now() + .seconds(7 * 86400)).milliseconds)
            let rows = { @Sendable in
                try await app.services.database.withConnection { sql in
                    try await sql.raw("SELECT COUNT(*) AS n FROM accounts WHERE handle = 'alice'").first()?.decode(column: "n", as: Int.self)
                }
            }
            #expect(try await rows() == 1)

            app.clock.advance(by: .seconds(7 * 86400 + 1))
            try await app.services.sweeper.sweep()
            try await app.processJobs()
            app.clock.advance(by: .seconds(3))
            try await app.processJobs()
            #expect(try await rows() == 0)
            #expect(try await app.audit().isEmpty)
        }
    }

    /// While a legal hold keeps one of bob's segments (so his account row must wait), his likes, comments,
    /// views, shares and follows are gone from every read at once, and so are the counts they made.
    @Test(arguments: Backend.all)
    func aDeletedAccountDisappearsFromEveryReadAtOnceWhateverStillWaits(backend: Backend) async throws {
        try await TestApp.run(backend, configure: { $0.legalHold = .seconds(7 * 86400) }) { app in
            let c = try await Self.cast(app)
            _ = try await app.request(.patch, "/api/v1/me/settings", token: c.bob, json: ["viewHistory": true])
            try await app.follow(c.bob, "alice")
            try await app.follow(c.alice, "bob")
            let id = c.segment
            #expect(try await app.request(.put, "/api/v1/stories/\(id)/like", token: c.bob).status == .noContent)
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/comments", token: c.bob, json: ["text": "hi"]).status == .created)
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/views", token: c.bob).status == .noContent)
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/shares", token: c.bob).status == .created)
            // Bob's own segment is taken down and held.
            let held = try await app.postLive(c.bob, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
            #expect(try await app.request(.post, "/api/v1/moderation/stories/\(held)/takedown", token: c.mod1,
                                          json: ["reason": "Rule 1"]).status == .ok)
            let appeal = try await app.request(.post, "/api/v1/stories/\(held)/appeals", token: c.bob, json: ["message": "no"])
            #expect(try await app.request(.post, "/api/v1/moderation/appeals/\(try appeal.decode(API.Appeal.self).id)/decision",
                                          token: c.mod2, json: ["decision": "uphold"]).status == .ok)

            let before = try await app.request(.get, "/api/v1/stories/\(id)", token: c.alice).decode(API.Segment.self)
            #expect(before.counts.likes == 1 && before.counts.comments == 1 && before.counts.views == 1)

            #expect(try await app.request(.delete, "/api/v1/me", token: c.bob, json: ["password": "correct horse"]).status == .accepted)
            try await app.processJobs()
            // The account row waits for the hold…
            #expect(try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM accounts WHERE handle = 'bob'").first()?.decode(column: "n", as: Int.self)
            } == 1)
            // …but bob is in no read any more.
            let counts = try await app.request(.get, "/api/v1/stories/\(id)", token: c.alice).decode(API.Segment.self).counts
            #expect(counts.likes == 0 && counts.comments == 0 && counts.views == 0 && counts.shares == 0, "\(counts)")
            #expect(try Self.items(try await app.request(.get, "/api/v1/stories/\(id)/comments", token: c.alice), API.Comment.self)
                .isEmpty)
            let viewers = try await app.request(.get, "/api/v1/stories/\(id)/viewers", token: c.alice)
            #expect(try viewers.status == .ok && (viewers.decode(API.Viewers.self)).count == 0 && !viewers.text.contains("bob"))
            #expect(try Self.items(try await app.request(.get, "/api/v1/users/alice/followers", token: c.alice), API.Author.self)
                .isEmpty)
            #expect(try Self.items(try await app.request(.get, "/api/v1/users/alice/following", token: c.alice), API.Author.self)
                .isEmpty)
            let activity = try await app.request(.get, "/api/v1/me/activity", token: c.alice)
            #expect(activity.status == .ok && !activity.text.contains("bob"), "\(activity.text)")
            let profile = try await app.request(.get, "/api/v1/users/alice", token: c.carol).decode(API.Profile.self)
            #expect(profile.followerCount == 0 && profile.followingCount == 0)
            #expect(try await app.request(.get, "/api/v1/users/bob", token: c.alice).errorCode == "user_not_found")

            app.clock.advance(by: .seconds(7 * 86400 + 1))
            try await app.services.sweeper.sweep()
            try await app.processJobs()
            app.clock.advance(by: .seconds(3))
            try await app.processJobs()
            #expect(try await app.audit().isEmpty)
        }
    }

    @Test(arguments: Backend.all)
    func dismissingAReportLeavesTheStoryAndLetsThePersonReportAgain(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let c = try await Self.cast(app)
            let report = try await app.request(.post, "/api/v1/stories/\(c.segment)/reports", token: c.bob, json: ["reason": "other"])
            let reportID = try report.decode(API.Report.self).id
            let dismissed = try await app.request(.post, "/api/v1/moderation/reports/\(reportID)/dismiss", token: c.mod1)
            #expect(try dismissed.status == .ok && (dismissed.decode(API.Report.self)).status == "dismissed")
            #expect(try await app.request(.post, "/api/v1/moderation/reports/\(reportID)/dismiss", token: c.mod2).errorCode == "report_resolved")
            #expect(try await app.request(.post, "/api/v1/moderation/reports/nope/dismiss", token: c.mod2).status == .notFound)
            #expect(try await app.request(.get, "/api/v1/stories/\(c.segment)", token: c.bob).status == .ok)
            #expect(try Self.items(try await app.request(.get, "/api/v1/moderation/reports", token: c.mod1), API.QueueItem.self).isEmpty)
            #expect(try await app.request(.post, "/api/v1/stories/\(c.segment)/reports", token: c.bob,
                                          json: ["reason": "spam"]).status == .created)
            // Only what one can see can be reported.
            let hidden = try await app.postLive(c.alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "closeFriends"])[0]
            #expect(try await app.request(.post, "/api/v1/stories/\(hidden)/reports", token: c.bob,
                                          json: ["reason": "spam"]).status == .notFound)
        }
    }

    @Test(arguments: Backend.all)
    func badInputIsRefusedWithTheErrorShapeAndLeavesNothing(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let c = try await Self.cast(app)
            let id = c.segment
            let paths: [(String, String)] = [
                ("/api/v1/stories/\(id)/reports", c.bob),
                ("/api/v1/moderation/stories/\(id)/takedown", c.mod1),
                ("/api/v1/stories/\(id)/appeals", c.alice),
            ]
            for (path, token) in paths {
                let malformed = try await app.request(.post, path, token: token, body: ByteBuffer(string: "{reason:"),
                                                      headers: [.contentType: "application/json"])
                #expect(malformed.status == .badRequest && malformed.errorMessage?.isEmpty == false, "\(path)")
                let huge = try await app.request(.post, path, token: token,
                                                 json: ["reason": "spam", "message": String(repeating: "x", count: 70_000)])
                #expect(huge.status == .contentTooLarge && huge.errorCode == "body_too_large", "\(path)")
                let wrongType = try await app.request(.post, path, token: token, json: ["reason": 5, "message": 5])
                #expect(wrongType.status == .badRequest && wrongType.errorCode == "invalid_field", "\(path)")
            }
            let long = try await app.request(.post, "/api/v1/stories/\(id)/reports", token: c.bob,
                                             json: ["reason": "spam", "details": String(repeating: "x", count: 1001)])
            #expect(long.status == .unprocessableContent && long.errorCode == "details_too_long")
            let noReason = try await app.request(.post, "/api/v1/moderation/stories/\(id)/takedown", token: c.mod1, json: [:])
            #expect(noReason.status == .badRequest && noReason.errorCode == "reason_required")
            let longNote = try await app.request(.post, "/api/v1/moderation/appeals/x/decision", token: c.mod1,
                                                 json: ["decision": "restore", "note": String(repeating: "x", count: 1001)])
            #expect(longNote.status == .unprocessableContent && longNote.errorCode == "note_too_long")
            // Nothing was half-made: no report, takedown, appeal or log line, and the story is still live.
            let rows = try await app.services.database.withConnection { sql in
                var total = 0
                for table in ["reports", "takedowns", "appeals", "moderation_log"] {
                    total += try await sql.raw("SELECT COUNT(*) AS n FROM \(ident: table)").first()?.decode(column: "n", as: Int.self) ?? 0
                }
                return total
            }
            #expect(rows == 0)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: c.bob).decode(API.Segment.self).state == "live")
        }
    }

    /// Every moderation route for every kind of caller.
    @Test(arguments: Backend.all)
    func moderationRoutesAnswerOnlyThoseTheyAreFor(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let c = try await Self.cast(app)
            let id = c.segment
            let report = try await app.request(.post, "/api/v1/stories/\(id)/reports", token: c.bob, json: ["reason": "spam"])
            let reportID = try report.decode(API.Report.self).id
            let reportOnAppealTarget = try await app.postLive(c.alice, file: try await MediaFixtures.shared.photo(),
                                                              fields: ["audience": "public"])[0]

            typealias Call = (HTTPRequest.Method, String, [String: any Sendable]?)
            let moderatorCalls: [Call] = [
                (.get, "/api/v1/moderation/reports", nil),
                (.get, "/api/v1/moderation/reports?status=resolved", nil),
                (.get, "/api/v1/moderation/appeals", nil),
                (.post, "/api/v1/moderation/reports/\(reportID)/dismiss", nil),
                (.post, "/api/v1/moderation/stories/\(id)/takedown", ["reason": "r"]),
                (.post, "/api/v1/moderation/appeals/any/decision", ["decision": "restore"]),
            ]
            // Signed out: 401. Members — the author, a reporter, anyone — 404: the queue is not theirs.
            for (method, path, json) in moderatorCalls + [(.get, "/api/v1/moderation/log", nil)] {
                #expect(try await app.request(method, path, json: json).status == .unauthorized, "\(path)")
                for member in [c.alice, c.bob, c.carol] {
                    let response = try await app.request(method, path, token: member, json: json)
                    #expect(response.status == .notFound && response.errorCode == "not_found", "\(path)")
                }
            }
            // Moderators: everything but the log.
            #expect(try await app.request(.get, "/api/v1/moderation/reports", token: c.mod2).status == .ok)
            #expect(try await app.request(.get, "/api/v1/moderation/appeals", token: c.mod2).status == .ok)
            #expect(try await app.request(.get, "/api/v1/moderation/log", token: c.mod2).status == .notFound)
            // Admins: everything.
            #expect(try await app.request(.get, "/api/v1/moderation/reports", token: c.admin).status == .ok)
            #expect(try await app.request(.get, "/api/v1/moderation/log", token: c.admin).status == .ok)
            #expect(try await app.request(.post, "/api/v1/moderation/stories/\(reportOnAppealTarget)/takedown", token: c.admin,
                                          json: ["reason": "Rule 3"]).status == .ok)
            // Appeals: only the author, only of a removed segment.
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/appeals", token: c.alice,
                                          json: ["message": "why"]).errorCode == "not_removed")
            for other in [c.bob, c.mod1, c.admin] {
                #expect(try await app.request(.post, "/api/v1/stories/\(reportOnAppealTarget)/appeals", token: other,
                                              json: ["message": "mine"]).status == .notFound)
            }
            let appeal = try await app.request(.post, "/api/v1/stories/\(reportOnAppealTarget)/appeals", token: c.alice,
                                               json: ["message": "mine"])
            let appealID = try appeal.decode(API.Appeal.self).id
            // Four eyes: the admin took it down, so the admin may not decide; a moderator may.
            #expect(try await app.request(.post, "/api/v1/moderation/appeals/\(appealID)/decision", token: c.admin,
                                          json: ["decision": "restore"]).status == .forbidden)
            #expect(try await app.request(.post, "/api/v1/moderation/appeals/\(appealID)/decision", token: c.bob,
                                          json: ["decision": "restore"]).status == .notFound)
            #expect(try await app.request(.post, "/api/v1/moderation/appeals/\(appealID)/decision", token: c.mod1,
                                          json: ["decision": "restore"]).status == .ok)
            // A moderator sees a segment under review whatever its audience; a member does not.
            let friendsOnly = try await app.postLive(c.alice, file: try await MediaFixtures.shared.photo(),
                                                     fields: ["audience": "closeFriends"])[0]
            #expect(try await app.request(.get, "/api/v1/stories/\(friendsOnly)", token: c.mod1).status == .notFound)
            #expect(try await app.request(.post, "/api/v1/moderation/stories/\(friendsOnly)/takedown", token: c.mod1,
                                          json: ["reason": "Reported elsewhere"]).status == .ok)
            #expect(try await app.request(.get, "/api/v1/stories/\(friendsOnly)", token: c.mod2).status == .ok)
            #expect(try await app.request(.get, "/media/\(friendsOnly)/photo.jpg", token: c.mod2).status == .ok)
            #expect(try await app.request(.get, "/media/\(friendsOnly)/photo.jpg", token: c.bob).status == .notFound)
        }
    }

    @Test func operatorsPromoteAndDemoteFromTheCommandLineAndServeMakesTheFirstAdmin() async throws {
        let directory = NSTemporaryDirectory() + "ephemera-roles-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = ServerProcess(dataDirectory: directory, databaseURL: nil, extraArguments: ["--admin", "@Root"])
        try await server.start()
        let root = try await server.request("POST", "/api/v1/accounts",
            json: ["handle": "root", "password": "correct horse"]).decode(API.Session.self).token
        #expect(try await server.request("GET", "/api/v1/me", token: root).decode(API.Account.self).role == "admin")
        let alice = try await server.request("POST", "/api/v1/accounts",
            json: ["handle": "alice", "password": "correct horse"]).decode(API.Session.self).token
        #expect(try await server.request("GET", "/api/v1/me", token: alice).decode(API.Account.self).role == "member")
        _ = try await server.terminate()

        let promote = try ServerProcess.runCommand(["user", "promote", "alice", "--role", "moderator", "--data-dir", directory])
        #expect(promote.status == 0 && promote.output.contains("@alice is now a moderator"), "\(promote.output)")
        let nobody = try ServerProcess.runCommand(["user", "promote", "nobody", "--data-dir", directory])
        #expect(nobody.status == 1 && nobody.output.contains("no account @nobody"), "\(nobody.output)")
        let badRole = try ServerProcess.runCommand(["user", "promote", "alice", "--role", "king", "--data-dir", directory])
        #expect(badRole.status == 2 && badRole.output.contains("--role"), "\(badRole.output)")
        try await server.start(keepPort: true)
        #expect(try await server.request("GET", "/api/v1/me", token: alice).decode(API.Account.self).role == "moderator")
        #expect(try await server.request("GET", "/api/v1/moderation/reports", token: alice).status == 200)
        _ = try await server.terminate()

        let demote = try ServerProcess.runCommand(["user", "demote", "alice", "--data-dir", directory])
        #expect(demote.status == 0 && demote.output.contains("@alice is now a member"), "\(demote.output)")
        try await server.start(keepPort: true)
        #expect(try await server.request("GET", "/api/v1/moderation/reports", token: alice).status == 404)
        _ = try await server.terminate()
    }
}
