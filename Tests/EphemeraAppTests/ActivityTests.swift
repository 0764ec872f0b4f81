import EphemeraCore
import EphemeraTestSupport
import Foundation
import Testing

@Suite struct ActivityTests {
    @Test(arguments: Backend.all)
    func activityListsLikesCommentsSharesAndFollowersWithUnreadCount(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let carol = try await app.signUp("carol")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
            try await app.follow(bob, "alice"); app.clock.advance(by: .seconds(1))
            _ = try await app.request(.put, "/api/v1/stories/\(id)/like", token: bob); app.clock.advance(by: .seconds(1))
            _ = try await app.request(.post, "/api/v1/stories/\(id)/comments", token: carol, json: ["text": "lovely"])
            app.clock.advance(by: .seconds(1))
            _ = try await app.request(.post, "/api/v1/stories/\(id)/shares", token: carol); app.clock.advance(by: .seconds(1))
            _ = try await app.request(.put, "/api/v1/stories/\(id)/like", token: alice)  // my own like is not activity

            let inbox = try await app.request(.get, "/api/v1/me/activity", token: alice).decode(API.Activity.self)
            let items = inbox.items
            #expect(items.map(\.kind) == ["share", "comment", "like", "follow"])
            #expect(items.map(\.actor.handle) == ["carol", "carol", "bob", "bob"])
            #expect(items[1].text == "lovely" && items[1].segmentId == id)
            #expect(inbox.unreadCount == 4)
            #expect(items.allSatisfy { !$0.read })

            let page = try await app.request(.get, "/api/v1/me/activity?limit=3", token: alice).decode(API.Activity.self)
            let cursor = try #require(page.nextCursor)
            let rest = try await app.request(.get, "/api/v1/me/activity?limit=3&cursor=\(cursor)", token: alice)
                .decode(API.Activity.self)
            #expect(rest.items.map(\.kind) == ["follow"] && rest.nextCursor == nil)

            #expect(try await app.request(.post, "/api/v1/me/activity/read", token: alice).status == .noContent)
            app.clock.advance(by: .seconds(1))
            _ = try await app.request(.put, "/api/v1/stories/\(id)/like", token: carol)
            let after = try await app.request(.get, "/api/v1/me/activity", token: alice).decode(API.Activity.self)
            #expect(after.unreadCount == 1)
            #expect(after.items.first?.read == false && after.items.last?.read == true)

            // A block hides the other side's activity; a purge takes the story's activity with it.
            _ = try await app.request(.put, "/api/v1/me/blocked/carol", token: alice)
            let blocked = try await app.request(.get, "/api/v1/me/activity", token: alice).decode(API.Activity.self)
            #expect(!blocked.items.isEmpty && blocked.items.allSatisfy { $0.actor.handle == "bob" })
            _ = try await app.request(.delete, "/api/v1/stories/\(id)?permanent=true", token: alice)
            try await app.processJobs()
            let purged = try await app.request(.get, "/api/v1/me/activity", token: alice).decode(API.Activity.self)
            #expect(purged.items.map(\.kind) == ["follow"])
            #expect(try await app.request(.get, "/api/v1/me/activity").status == .unauthorized)
        }
    }
}

@Suite struct ProfileViewTests {
    @Test(arguments: Backend.all)
    func profileViewsAreSharedOnlyBetweenPeopleWhoBothOptInForThirtyDays(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let carol = try await app.signUp("carol")
            for token in [alice, bob] {
                _ = try await app.request(.patch, "/api/v1/me/settings", token: token, json: ["viewHistory": true])
            }
            _ = try await app.request(.get, "/api/v1/users/alice", token: bob)
            _ = try await app.request(.get, "/api/v1/users/alice", token: carol)  // carol did not opt in
            _ = try await app.request(.get, "/api/v1/users/alice")                // signed out
            var views = try await app.request(.get, "/api/v1/me/profile-views", token: alice).decode(API.Page<API.ProfileView>.self)
            #expect(views.items.map(\.account.handle) == ["bob"])
            #expect(views.items.first?.viewedAt == app.clock.now().rfc3339)
            let rows = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM profile_views").first()!.decode(column: "n", as: Int.self)
            }
            #expect(rows == 1, "nothing is stored about people who did not opt in")

            // Turning it off hides the history both ways.
            _ = try await app.request(.patch, "/api/v1/me/settings", token: bob, json: ["viewHistory": false])
            views = try await app.request(.get, "/api/v1/me/profile-views", token: alice).decode(API.Page<API.ProfileView>.self)
            #expect(views.items.isEmpty)
            _ = try await app.request(.patch, "/api/v1/me/settings", token: bob, json: ["viewHistory": true])

            app.clock.advance(by: .seconds(30 * 86400))
            try await app.services.sweeper.sweep()
            views = try await app.request(.get, "/api/v1/me/profile-views", token: alice).decode(API.Page<API.ProfileView>.self)
            #expect(views.items.isEmpty)
            #expect(try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM profile_views").first()!.decode(column: "n", as: Int.self)
            } == 0)
        }
    }
}
