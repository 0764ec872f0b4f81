import EphemeraCore
import EphemeraTestSupport
import Foundation
import SQLKit
import Testing

/// Muting an author (issue 19): last in my tray with a `muted` ring; nothing else changes, and they are not told.
@Suite struct MuteTests {
    @Test(arguments: Backend.all)
    func aMutedAuthorGoesLastWithAMutedRingAndIsNotTold(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let carol = try await app.signUp("carol")
            try await app.follow(alice, "bob")
            try await app.follow(alice, "carol")
            let photo = try await MediaFixtures.shared.photo()
            _ = try await app.postLive(carol, file: photo, fields: ["audience": "followers"])
            app.clock.advance(by: .seconds(60))
            let bobs = try await app.postLive(bob, file: photo, fields: ["audience": "public"])[0]
            func forYou() async throws -> [String] {
                try await app.request(.get, "/api/v1/feed/for-you", token: alice).decode(API.Page<API.Segment>.self).items.map(\.id)
            }
            #expect(try await forYou() == [bobs])

            func tray() async throws -> [String] {
                try await app.request(.get, "/api/v1/tray", token: alice).decode(API.Tray.self).items
                    .map { "\($0.author.handle):\($0.ring)" }
            }
            #expect(try await tray() == ["bob:unseen", "carol:unseen"])

            #expect(try await app.request(.put, "/api/v1/me/muted/bob", token: alice).status == .noContent)
            #expect(try await app.request(.put, "/api/v1/me/muted/bob", token: alice).status == .noContent)  // idempotent
            #expect(try await tray() == ["carol:unseen", "bob:muted"])
            #expect(try await forYou().isEmpty, "a muted author is not suggested either")
            // Muted, not hidden: Alice still reads his story when she opens it, and her view counts.
            let story = try await app.request(.get, "/api/v1/users/bob/story", token: alice).decode(API.Story.self)
            #expect(story.segments.map(\.id) == [bobs])
            #expect(try await app.request(.post, "/api/v1/stories/\(bobs)/views", token: alice).status == .noContent)
            #expect(try await tray() == ["carol:unseen", "bob:muted"])
            #expect(try await app.request(.get, "/api/v1/users/bob", token: alice).decode(API.Profile.self).mutedByMe)

            // Bob is not told: nothing in his activity, nothing on Alice's profile as he sees it.
            let activity = try await app.request(.get, "/api/v1/me/activity", token: bob)
            #expect(activity.status == .ok && !activity.text.contains("mute"))
            #expect(try await !app.request(.get, "/api/v1/users/alice", token: bob).decode(API.Profile.self).mutedByMe)
            #expect(try await app.request(.get, "/api/v1/tray", token: carol).status == .ok)

            #expect(try await app.request(.delete, "/api/v1/me/muted/bob", token: alice).status == .noContent)
            #expect(try await tray() == ["carol:unseen", "bob:seen"])
            #expect(try await forYou() == [bobs])
        }
    }

    @Test(arguments: Backend.all)
    func mutingIsRefusedClearlyAndGoesWithTheAccount(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let own = try await app.request(.put, "/api/v1/me/muted/alice", token: alice)
            #expect(own.status == .badRequest && own.errorCode == "cannot_target_self")
            let nobody = try await app.request(.put, "/api/v1/me/muted/nobody", token: alice)
            #expect(nobody.status == .notFound && nobody.errorCode == "user_not_found")
            #expect(try await app.request(.put, "/api/v1/me/muted/bob").status == .unauthorized)
            // Someone who blocked me cannot be found, to mute or anything else.
            let dave = try await app.signUp("dave")
            #expect(try await app.request(.put, "/api/v1/me/blocked/alice", token: dave).status == .noContent)
            let blocked = try await app.request(.put, "/api/v1/me/muted/dave", token: alice)
            #expect(blocked.status == .notFound && blocked.errorCode == "user_not_found")

            #expect(try await app.request(.put, "/api/v1/me/muted/bob", token: alice).status == .noContent)
            #expect(try await app.request(.put, "/api/v1/me/muted/alice", token: bob).status == .noContent)
            func mutes() async throws -> Int {
                try await app.services.database.withConnection { sql in
                    try await sql.raw("SELECT COUNT(*) AS n FROM mutes").first()!.decode(column: "n", as: Int.self)
                }
            }
            #expect(try await mutes() == 2)
            // Deleting an account removes its mutes both ways at once.
            #expect(try await app.request(.delete, "/api/v1/me", token: bob, json: ["password": "correct horse"]).status == .accepted)
            #expect(try await mutes() == 0)
        }
    }
}
