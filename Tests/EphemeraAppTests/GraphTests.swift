import EphemeraTestSupport
import Foundation
import Testing

@Suite struct GraphTests {
    @Test(arguments: Backend.all)
    func followingIsIdempotentAndCounted(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            _ = try await app.signUp("carol")
            try await app.follow(alice, "bob")
            try await app.follow(alice, "bob")
            try await app.follow(alice, "carol")
            let profile = try await app.request(.get, "/api/v1/users/bob", token: alice).decode(API.Profile.self)
            #expect(profile.followerCount == 1 && profile.followedByMe && profile.storyRing == "none")
            let following = try await app.request(.get, "/api/v1/users/alice/following?limit=1", token: bob)
                .decode(API.Page<API.Author>.self)
            #expect(following.items.count == 1)
            let cursor = try #require(following.nextCursor)
            let second = try await app.request(.get, "/api/v1/users/alice/following?limit=1&cursor=\(cursor)", token: bob)
            #expect(second.text.contains("\"nextCursor\":null"), "the last page says so")
            let last = try second.decode(API.Page<API.Author>.self)
            #expect(last.items.count == 1 && last.nextCursor == nil)
            #expect(Set((following.items + last.items).map(\.handle)) == ["bob", "carol"])
            #expect(try await app.request(.delete, "/api/v1/me/following/bob", token: alice).status == .noContent)
            #expect(try await app.request(.delete, "/api/v1/me/following/bob", token: alice).status == .noContent)
            #expect(try await app.request(.get, "/api/v1/users/bob").decode(API.Profile.self).followerCount == 0)
            let missing = try await app.request(.put, "/api/v1/me/following/nobody", token: alice)
            #expect(missing.status == .notFound && missing.errorCode == "user_not_found")
            let me = try await app.request(.put, "/api/v1/me/following/alice", token: alice)
            #expect(me.status == .badRequest && me.errorCode == "cannot_target_self")
            #expect(try await app.request(.put, "/api/v1/me/following/bob").status == .unauthorized)
            let badLimit = try await app.request(.get, "/api/v1/users/alice/following?limit=500")
            #expect(badLimit.status == .badRequest && badLimit.errorCode == "invalid_limit")
        }
    }

    @Test(arguments: Backend.all)
    func blockingRemovesFollowsBothWaysAndHidesEachOther(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            try await app.follow(alice, "bob")
            try await app.follow(bob, "alice")
            #expect(try await app.request(.put, "/api/v1/me/blocked/bob", token: alice).status == .noContent)
            #expect(try await app.request(.get, "/api/v1/users/alice").decode(API.Profile.self).followerCount == 0)
            #expect(try await app.request(.get, "/api/v1/users/bob").decode(API.Profile.self).followerCount == 0)
            // Each side no longer finds the other.
            #expect(try await app.request(.get, "/api/v1/users/alice", token: bob).status == .notFound)
            #expect(try await app.request(.get, "/api/v1/users/bob", token: alice).status == .notFound)
            #expect(try await app.request(.put, "/api/v1/me/following/alice", token: bob).status == .notFound)
            #expect(try await app.request(.delete, "/api/v1/me/blocked/bob", token: alice).status == .noContent)
            #expect(try await app.request(.put, "/api/v1/me/following/alice", token: bob).status == .noContent)
        }
    }
}
