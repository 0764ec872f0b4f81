import EphemeraCore
import EphemeraTestSupport
import Foundation
import SQLKit
import Testing

/// Quick reactions and private replies (issue 19, point 3).
@Suite struct ReactionsAndRepliesTests {
    @Test(arguments: Backend.all)
    func aReactionIsOnePerViewerReplacedByTheNextAndCountedForTheAuthor(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let carol = try await app.signUp("carol")
            #expect(try await app.request(.patch, "/api/v1/me/settings", token: bob, json: ["viewHistory": true]).status == .ok)
            let photo = try await MediaFixtures.shared.photo()
            let id = try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0]

            #expect(try await app.request(.put, "/api/v1/stories/\(id)/reaction", token: bob, json: ["emoji": "❤️"]).status == .noContent)
            #expect(try await app.request(.put, "/api/v1/stories/\(id)/reaction", token: bob, json: ["emoji": "🔥"]).status == .noContent)
            // A heart without its variation selector is the same heart.
            #expect(try await app.request(.put, "/api/v1/stories/\(id)/reaction", token: carol, json: ["emoji": "\u{2764}"]).status == .noContent)

            let summary = try await app.request(.get, "/api/v1/stories/\(id)/reactions", token: alice).decode(API.Reactions.self)
            #expect(summary.counts == ["🔥": 1, "❤️": 1])
            // Only viewers who share their view history are named.
            #expect(summary.recent.map { "\($0.account.handle) \($0.emoji)" } == ["bob 🔥"])
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self).counts.reactions == 2)
            let asBob = try await app.request(.get, "/api/v1/stories/\(id)", token: bob).decode(API.Segment.self)
            #expect(asBob.myReaction == "🔥" && asBob.counts.reactions == nil)
            let notTheAuthor = try await app.request(.get, "/api/v1/stories/\(id)/reactions", token: bob)
            #expect(notTheAuthor.status == .notFound && notTheAuthor.errorCode == "story_not_found")

            let activity = try await app.request(.get, "/api/v1/me/activity", token: alice).decode(API.Activity.self)
            #expect(activity.items.filter { $0.kind == "reaction" }.map { "\($0.actor.handle) \($0.text ?? "")" }.sorted()
                    == ["bob 🔥", "carol ❤️"])

            let thumbs = try await app.request(.put, "/api/v1/stories/\(id)/reaction", token: bob, json: ["emoji": "👍"])
            #expect(thumbs.status == .badRequest && thumbs.errorCode == "invalid_emoji")
            #expect(thumbs.errorMessage?.contains("🔥") == true)
            let own = try await app.request(.put, "/api/v1/stories/\(id)/reaction", token: alice, json: ["emoji": "🔥"])
            #expect(own.status == .badRequest && own.errorCode == "cannot_react_to_self")

            #expect(try await app.request(.delete, "/api/v1/stories/\(id)/reaction", token: bob).status == .noContent)
            #expect(try await app.request(.delete, "/api/v1/stories/\(id)/reaction", token: bob).status == .noContent)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)/reactions", token: alice)
                .decode(API.Reactions.self).counts == ["❤️": 1])
        }
    }

    @Test(arguments: Backend.all)
    func repliesAreSeenOnlyByTheAuthorAndTheReplierAndDieWithTheSegment(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let carol = try await app.signUp("carol")
            let dave = try await app.signUp("dave")
            let photo = try await MediaFixtures.shared.photo()
            let id = try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0]

            let sent = try await app.request(.post, "/api/v1/stories/\(id)/replies", token: bob, json: ["text": "  Lovely light  "])
            #expect(sent.status == .created)
            let reply = try sent.decode(API.Reply.self)
            #expect(reply.text == "Lovely light" && reply.from.handle == "bob")
            app.clock.advance(by: .seconds(1))
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/replies", token: carol, json: ["text": "Where is this?"]).status == .created)
            #expect(try await app.request(.put, "/api/v1/stories/\(id)/reaction", token: carol, json: ["emoji": "😮"]).status == .noContent)

            func replies(_ token: String) async throws -> [String] {
                try await app.request(.get, "/api/v1/stories/\(id)/replies", token: token)
                    .decode(API.Page<API.Reply>.self).items.map { "\($0.from.handle): \($0.text)" }
            }
            #expect(try await replies(alice) == ["bob: Lovely light", "carol: Where is this?"])
            #expect(try await replies(bob) == ["bob: Lovely light"])
            #expect(try await replies(carol) == ["carol: Where is this?"])
            #expect(try await replies(dave).isEmpty, "someone who can see the story reads none but their own")
            #expect(try await app.request(.get, "/api/v1/stories/\(id)/replies").status == .unauthorized)
            // Replies are not comments: the public comment list does not have them.
            #expect(try await app.request(.get, "/api/v1/stories/\(id)/comments", token: dave)
                .decode(API.Page<API.Comment>.self).items.isEmpty)
            let activity = try await app.request(.get, "/api/v1/me/activity", token: alice).decode(API.Activity.self)
            #expect(activity.items.contains { $0.kind == "reply" && $0.text == "Lovely light" && $0.actor.handle == "bob" })

            let empty = try await app.request(.post, "/api/v1/stories/\(id)/replies", token: bob, json: ["text": "   "])
            #expect(empty.status == .badRequest && empty.errorCode == "reply_empty")
            let long = try await app.request(.post, "/api/v1/stories/\(id)/replies", token: bob,
                                             json: ["text": String(repeating: "x", count: 501)])
            #expect(long.status == .badRequest && long.errorCode == "reply_too_long")
            let own = try await app.request(.post, "/api/v1/stories/\(id)/replies", token: alice, json: ["text": "me"])
            #expect(own.status == .badRequest && own.errorCode == "cannot_reply_to_self")

            // Purged with the segment, and the receipt says so.
            #expect(try await app.request(.delete, "/api/v1/stories/\(id)?permanent=true", token: alice).status == .accepted)
            try await app.processJobs()
            let removed = try await app.request(.get, "/api/v1/stories/\(id)/deletion-receipt", token: alice)
                .decode(API.Receipt.self).entries.map(\.removed)
            #expect(removed.contains { $0.contains("2 replies") } && removed.contains { $0.contains("1 reactions") }, "\(removed)")
            let left = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT (SELECT COUNT(*) FROM replies) + (SELECT COUNT(*) FROM reactions) AS n")
                    .first()!.decode(column: "n", as: Int.self)
            }
            #expect(left == 0)
        }
    }

    @Test(arguments: Backend.all)
    func reactionsAndRepliesGoWithTheirAccount(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let photo = try await MediaFixtures.shared.photo()
            let id = try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0]
            #expect(try await app.request(.put, "/api/v1/stories/\(id)/reaction", token: bob, json: ["emoji": "👏"]).status == .noContent)
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/replies", token: bob, json: ["text": "bye"]).status == .created)
            #expect(try await app.request(.delete, "/api/v1/me", token: bob, json: ["password": "correct horse"]).status == .accepted)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)/reactions", token: alice).decode(API.Reactions.self).counts.isEmpty)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)/replies", token: alice).decode(API.Page<API.Reply>.self).items.isEmpty)
            let activity = try await app.request(.get, "/api/v1/me/activity", token: alice).decode(API.Activity.self)
            #expect(activity.items.isEmpty)
        }
    }
}
