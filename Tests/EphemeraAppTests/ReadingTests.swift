import EphemeraCore
import EphemeraTestSupport
import Foundation
import Testing

@Suite struct ReadingTests {
    @Test(arguments: Backend.all)
    func theTrayIsServedReadyMadeButNeverStale(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let carol = try await app.signUp("carol")
            let bob = try await app.signUp("bob")
            try await app.follow(bob, "alice")
            let photo = try await MediaFixtures.shared.photo()
            let first = try await app.postLive(alice, file: photo)[0]
            func tray() async throws -> [String: String] {
                let items = try await app.request(.get, "/api/v1/tray", token: bob).decode(API.Tray.self).items
                return Dictionary(uniqueKeysWithValues: items.map { ($0.author.handle, $0.ring) })
            }
            // Each read below is answered from the cache the read before filled, unless a change emptied it.
            #expect(try await tray() == ["alice": "unseen"])
            #expect(try await tray() == ["alice": "unseen"])
            // Bob's own view: his ring turns grey at once.
            #expect(try await app.request(.post, "/api/v1/stories/\(first)/views", token: bob).status == .noContent)
            #expect(try await tray() == ["alice": "seen"])
            // A new segment of someone he follows, and someone new to follow.
            _ = try await app.postLive(alice, file: photo)
            #expect(try await tray() == ["alice": "unseen"])
            _ = try await app.postLive(carol, file: photo)
            #expect(try await tray() == ["alice": "unseen"])
            try await app.follow(bob, "carol")
            #expect(try await tray() == ["alice": "unseen", "carol": "unseen"])
            // Carol blocks Bob; Alice deletes her first segment and her second stays.
            #expect(try await app.request(.put, "/api/v1/me/blocked/bob", token: carol).status == .noContent)
            #expect(try await tray() == ["alice": "unseen"])
            #expect(try await app.request(.delete, "/api/v1/stories/\(first)", token: alice).status == .ok)
            #expect(try await tray() == ["alice": "unseen"])
            // Expiry needs no write: at the exact millisecond the story leaves the cached tray too.
            app.clock.advance(by: .seconds(24 * 3600 - 1))
            #expect(try await tray() == ["alice": "unseen"])
            app.clock.advance(by: .seconds(1))
            #expect(try await tray() == [:])
        }
    }

    @Test(arguments: Backend.all)
    func storyIsOldestFirstWithSeenPerSegmentAndViewsAreIdempotent(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            try await app.follow(bob, "alice")
            let photo = try await MediaFixtures.shared.photo()
            let first = try await app.postLive(alice, file: photo)[0]
            app.clock.advance(by: .seconds(60))
            let second = try await app.postLive(alice, file: photo)[0]

            var story = try await app.request(.get, "/api/v1/users/alice/story", token: bob).decode(API.Story.self)
            #expect(story.segments.map(\.id) == [first, second])
            #expect(story.segments.allSatisfy { !$0.seen })
            #expect(story.ring == "unseen")

            #expect(try await app.request(.post, "/api/v1/stories/\(first)/views", token: bob).status == .noContent)
            #expect(try await app.request(.post, "/api/v1/stories/\(first)/views", token: bob).status == .noContent)
            story = try await app.request(.get, "/api/v1/users/alice/story", token: bob).decode(API.Story.self)
            #expect(story.segments.map(\.seen) == [true, false])
            let authorView = try await app.request(.get, "/api/v1/stories/\(first)", token: alice).decode(API.Segment.self)
            #expect(authorView.counts.views == 1)

            _ = try await app.request(.post, "/api/v1/stories/\(second)/views", token: bob)
            #expect(try await app.request(.get, "/api/v1/users/alice", token: bob).decode(API.Profile.self).storyRing == "seen")
            #expect(try await app.request(.post, "/api/v1/stories/\(first)/views").status == .unauthorized)
            #expect(try await app.request(.post, "/api/v1/stories/nope/views", token: bob).status == .notFound)
        }
    }

    @Test(arguments: Backend.all)
    func trayShowsFollowedAuthorsUnseenFirstThenNewest(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let viewer = try await app.signUp("viewer")
            let photo = try await MediaFixtures.shared.photo()
            var tokens: [String: String] = [:]
            for handle in ["ann", "ben", "cat", "dan"] {
                tokens[handle] = try await app.signUp(handle)
                if handle != "dan" { try await app.follow(viewer, handle) }
            }
            for handle in ["ann", "ben", "cat", "dan"] {
                _ = try await app.postLive(tokens[handle]!, file: photo)
                app.clock.advance(by: .seconds(10))
            }
            var tray = try await app.request(.get, "/api/v1/tray", token: viewer).decode(API.Tray.self)
            // dan is not followed; newest first among unseen.
            #expect(tray.items.map(\.author.handle) == ["cat", "ben", "ann"])
            #expect(tray.items.allSatisfy { $0.ring == "unseen" && $0.segmentCount == 1 })

            let catStory = try await app.request(.get, "/api/v1/users/cat/story", token: viewer).decode(API.Story.self)
            let catSegment = try #require(catStory.segments.first?.id)
            _ = try await app.request(.post, "/api/v1/stories/\(catSegment)/views", token: viewer)
            _ = try await app.postLive(viewer, file: photo)

            tray = try await app.request(.get, "/api/v1/tray", token: viewer).decode(API.Tray.self)
            #expect(tray.items.map(\.author.handle) == ["viewer", "ben", "ann", "cat"])
            #expect(tray.items.last?.ring == "seen")
            #expect(try await app.request(.get, "/api/v1/tray").status == .unauthorized)
        }
    }

    @Test(arguments: Backend.all)
    func audiencesDecideWhoSeesWhat(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let follower = try await app.signUp("follower")
            let friend = try await app.signUp("friend")
            let stranger = try await app.signUp("stranger")
            let hidden = try await app.signUp("hidden")
            let blocker = try await app.signUp("blocker")
            for token in [follower, friend, hidden, blocker] { try await app.follow(token, "alice") }
            _ = try await app.request(.put, "/api/v1/me/close-friends/friend", token: alice)
            _ = try await app.request(.put, "/api/v1/me/hidden-from/hidden", token: alice)
            _ = try await app.request(.put, "/api/v1/me/blocked/alice", token: blocker)
            let photo = try await MediaFixtures.shared.photo()
            let ids = [
                "public": try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0],
                "followers": try await app.postLive(alice, file: photo, fields: ["audience": "followers"])[0],
                "closeFriends": try await app.postLive(alice, file: photo, fields: ["audience": "closeFriends"])[0],
            ]
            let expected: [(String, String?, Set<String>)] = [
                ("author", alice, ["public", "followers", "closeFriends"]),
                ("follower", follower, ["public", "followers"]),
                ("friend", friend, ["public", "followers", "closeFriends"]),
                ("stranger", stranger, ["public"]),
                ("signed out", nil, ["public"]),
                ("hidden", hidden, []),
                ("blocker", blocker, []),
            ]
            for (who, token, visible) in expected {
                for (audience, id) in ids {
                    let status = try await app.request(.get, "/api/v1/stories/\(id)", token: token).status
                    #expect(status == (visible.contains(audience) ? .ok : .notFound), "\(who) reading \(audience)")
                    let media = try await app.request(.get, "/media/\(id)/photo.jpg", token: token).status
                    #expect(media == (visible.contains(audience) ? .ok : .notFound), "\(who) fetching \(audience) media")
                }
                if who != "blocker" {
                    let story = try await app.request(.get, "/api/v1/users/alice/story", token: token).decode(API.Story.self)
                    let shown = Set(story.segments.map(\.id))
                    #expect(shown == Set(visible.map { ids[$0]! }), "\(who) story")
                }
            }
        }
    }

    @Test(arguments: Backend.all)
    func forYouRanksByEngagementPerHourAndPagesStayStableWhileThingsChange(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let viewer = try await app.signUp("viewer")
            let fans = [try await app.signUp("fan1"), try await app.signUp("fan2")]
            let photo = try await MediaFixtures.shared.photo()
            let old = try await app.postLive(try await app.signUp("old"), file: photo, fields: ["audience": "public"])[0]
            app.clock.advance(by: .seconds(5 * 3600))
            let popular = try await app.postLive(try await app.signUp("popular"), file: photo, fields: ["audience": "public"])[0]
            let quiet = try await app.postLive(try await app.signUp("quiet"), file: photo, fields: ["audience": "public"])[0]
            for fan in fans {
                _ = try await app.request(.put, "/api/v1/stories/\(popular)/like", token: fan)
                _ = try await app.request(.post, "/api/v1/stories/\(popular)/comments", token: fan, json: ["text": "wow"])
            }
            app.clock.advance(by: .seconds(600))
            let first = try await app.request(.get, "/api/v1/feed/for-you?limit=1", token: viewer).decode(API.Page<API.Segment>.self)
            var order = first.items.map(\.id)
            #expect(order == [popular])
            // Activity after the first page does not reorder the rest of the pages.
            app.clock.advance(by: .seconds(1))
            for fan in fans { _ = try await app.request(.put, "/api/v1/stories/\(old)/like", token: fan) }
            for _ in 0..<3 {
                _ = try await app.request(.post, "/api/v1/stories/\(old)/comments", token: fans[0], json: ["text": "late"])
            }
            var cursor = first.nextCursor
            while let next = cursor {
                let page = try await app.request(.get, "/api/v1/feed/for-you?limit=1&cursor=\(next)", token: viewer)
                    .decode(API.Page<API.Segment>.self)
                order += page.items.map(\.id)
                cursor = page.nextCursor
            }
            #expect(order == [popular, quiet, old])
            // A fresh first page sees the new engagement: the old story now outranks the quiet one.
            let fresh = try await app.request(.get, "/api/v1/feed/for-you?limit=3", token: viewer).decode(API.Page<API.Segment>.self)
            #expect(fresh.items.map(\.id) == [popular, old, quiet])
        }
    }

    @Test(arguments: Backend.all)
    func forYouShowsOnlyPublicStoriesOfPeopleNotBlockedAcrossPages(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let viewer = try await app.signUp("viewer")
            let photo = try await MediaFixtures.shared.photo()
            var publicIDs: [String] = []
            for handle in ["ann", "ben", "cat"] {
                let token = try await app.signUp(handle)
                publicIDs.append(try await app.postLive(token, file: photo, fields: ["audience": "public"])[0])
                _ = try await app.postLive(token, file: photo, fields: ["audience": "followers"])
                app.clock.advance(by: .seconds(5))
            }
            _ = try await app.request(.put, "/api/v1/me/blocked/ben", token: viewer)
            var seen: [String] = []
            var cursor: String?
            repeat {
                let query = cursor.map { "?limit=1&cursor=\($0)" } ?? "?limit=1"
                let page = try await app.request(.get, "/api/v1/feed/for-you\(query)", token: viewer)
                    .decode(API.Page<API.Segment>.self)
                seen += page.items.map(\.id)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == [publicIDs[2], publicIDs[0]])
            let signedOut = try await app.request(.get, "/api/v1/feed/for-you")
            #expect(try signedOut.decode(API.Page<API.Segment>.self).items.count == 3)
            #expect(try await app.request(.get, "/api/v1/feed/for-you?cursor=garbage").errorCode == "invalid_cursor")
        }
    }
}
