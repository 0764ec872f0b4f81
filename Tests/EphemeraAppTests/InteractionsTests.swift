import EphemeraCore
import EphemeraTestSupport
import Foundation
import Testing

@Suite struct InteractionsTests {
    @Test(arguments: Backend.all)
    func concurrentViewsLikesAndFollowsAreIdempotentWithoutErrors(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let photo = try await MediaFixtures.shared.photo()
            let id = try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0]
            // The same request many times at once (a double tap, a retry storm): every one succeeds, once.
            let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        [try await app.request(.post, "/api/v1/stories/\(id)/views", token: bob).status.code,
                         try await app.request(.put, "/api/v1/stories/\(id)/like", token: bob).status.code,
                         try await app.request(.put, "/api/v1/me/following/alice", token: bob).status.code]
                    }
                }
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            }
            #expect(Set(statuses) == [204])
            let counts = try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self).counts
            #expect(counts.views == 1 && counts.likes == 1)
            let profile = try await app.request(.get, "/api/v1/users/alice", token: bob).decode(API.Profile.self)
            #expect(profile.followerCount == 1)
        }
    }

    @Test(arguments: Backend.all)
    func viewsArrivingTogetherAreEachCountedOnceAndMarkTheirViewersRings(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let photo = try await MediaFixtures.shared.photo()
            let first = try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0]
            let second = try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0]
            var viewers: [String] = []
            for index in 0..<8 {
                let token = try await app.signUp("viewer\(index)")
                #expect(try await app.request(.put, "/api/v1/me/following/alice", token: token).status == .noContent)
                #expect(try await app.request(.get, "/api/v1/tray", token: token).decode(API.Tray.self).items.first?.ring == "unseen")
                viewers.append(token)
            }
            // Everyone watches both segments at once, twice, and the author looks too: the views share
            // transactions, yet each viewer counts once per segment and the author not at all.
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for token in viewers + [alice] {
                    for id in [first, second, first, second] {
                        group.addTask { try await app.request(.post, "/api/v1/stories/\(id)/views", token: token).status.code }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.count == 36 && Set(statuses) == [204])
            for id in [first, second] {
                #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self).counts.views == 8)
            }
            for token in viewers {
                #expect(try await app.request(.get, "/api/v1/tray", token: token).decode(API.Tray.self).items.first?.ring == "seen")
            }
        }
    }

    @Test(arguments: Backend.all)
    func aViewThatCannotBeWrittenFailsAloneNotTheOthersCommittedWithIt(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
            var viewers: [String] = []
            for index in 0..<10 {
                _ = try await app.signUp("viewer\(index)")
                viewers.append(try #require(try await app.services.accounts.account(handle: "viewer\(index)")).id)
            }
            let now = app.clock.now()
            let segments = app.services.segments
            // Ten good views and, among them, views of a segment that no longer exists (purged a moment ago).
            let outcomes = await withTaskGroup(of: (String, Bool?).self) { group in
                for viewer in viewers {
                    group.addTask { (viewer, try? await segments.recordView(segmentID: id, viewer: viewer, counted: true, at: now)) }
                    group.addTask { ("gone", try? await segments.recordView(segmentID: "gone", viewer: viewer, counted: true, at: now)) }
                }
                return await group.reduce(into: [(String, Bool?)]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0.0 != "gone" }.allSatisfy { $0.1 == true })
            #expect(outcomes.filter { $0.0 == "gone" }.allSatisfy { $0.1 == nil })
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self).counts.views == 10)
        }
    }

    @Test(arguments: Backend.all)
    func viewsCheckedTogetherEachGetTheirOwnViewersRelations(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let photo = try await MediaFixtures.shared.photo()
            let followers = try await app.postLive(alice, file: photo, fields: ["audience": "followers"])[0]
            let close = try await app.postLive(alice, file: photo, fields: ["audience": "closeFriends"])[0]
            // Who may see what: a follower the followers' story, a close friend both; a stranger, a follower
            // who is blocked and a follower it is hidden from neither.
            var expected: [(token: String, segment: String, status: Int)] = []
            for (handle, follows) in [("follower", true), ("friend", true), ("stranger", false), ("blocked", true), ("hidden", true)] {
                let token = try await app.signUp(handle)
                if follows { try await app.follow(token, "alice") }
                expected.append((token, followers, ["follower", "friend"].contains(handle) ? 204 : 404))
                expected.append((token, close, handle == "friend" ? 204 : 404))
            }
            #expect(try await app.request(.put, "/api/v1/me/close-friends/friend", token: alice).status == .noContent)
            #expect(try await app.request(.put, "/api/v1/me/blocked/blocked", token: alice).status == .noContent)
            #expect(try await app.request(.put, "/api/v1/me/hidden-from/hidden", token: alice).status == .noContent)
            // All at once, three times over: the relation lookups share queries, and each view is still
            // judged on its own viewer's relations.
            let statuses = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for _ in 0..<3 {
                    for (index, view) in expected.enumerated() {
                        group.addTask {
                            (index, try await app.request(.post, "/api/v1/stories/\(view.segment)/views", token: view.token).status.code)
                        }
                    }
                }
                return try await group.reduce(into: [(Int, Int)]()) { $0.append($1) }
            }
            #expect(statuses.count == expected.count * 3)
            for (index, status) in statuses { #expect(status == expected[index].status, "view \(index)") }
            #expect(try await app.request(.get, "/api/v1/stories/\(followers)", token: alice).decode(API.Segment.self).counts.views == 2)
            #expect(try await app.request(.get, "/api/v1/stories/\(close)", token: alice).decode(API.Segment.self).counts.views == 1)
        }
    }

    @Test(arguments: Backend.all)
    func recordingAViewHonoursEveryChangeOfVisibilityAtOnce(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            try await app.follow(bob, "alice")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "followers"])[0]
            let view = { @Sendable in try await app.request(.post, "/api/v1/stories/\(id)/views", token: bob).status }
            #expect(try await view() == .noContent)
            // Views keep the segment and the relations in memory; every change still counts at once.
            #expect(try await app.request(.delete, "/api/v1/stories/\(id)", token: alice).status == .ok)
            #expect(try await view() == .notFound)
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/restore", token: alice).status == .ok)
            #expect(try await view() == .noContent)
            #expect(try await app.request(.delete, "/api/v1/me/following/alice", token: bob).status == .noContent)
            #expect(try await view() == .notFound)
            try await app.follow(bob, "alice")
            #expect(try await view() == .noContent)
            #expect(try await app.request(.put, "/api/v1/me/blocked/bob", token: alice).status == .noContent)
            #expect(try await view() == .notFound)
            #expect(try await app.request(.delete, "/api/v1/me/blocked/bob", token: alice).status == .noContent)
            try await app.follow(bob, "alice")
            #expect(try await view() == .noContent)
            app.clock.advance(by: .seconds(24 * 3600))
            #expect(try await view() == .notFound)
        }
    }

    @Test(arguments: Backend.all)
    func likesAreIdempotentAndCounted(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
            #expect(try await app.request(.put, "/api/v1/stories/\(id)/like", token: bob).status == .noContent)
            #expect(try await app.request(.put, "/api/v1/stories/\(id)/like", token: bob).status == .noContent)
            var segment = try await app.request(.get, "/api/v1/stories/\(id)", token: bob).decode(API.Segment.self)
            #expect(segment.likedByMe && segment.counts.likes == 1)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self).likedByMe == false)
            #expect(try await app.request(.delete, "/api/v1/stories/\(id)/like", token: bob).status == .noContent)
            #expect(try await app.request(.delete, "/api/v1/stories/\(id)/like", token: bob).status == .noContent)
            segment = try await app.request(.get, "/api/v1/stories/\(id)", token: bob).decode(API.Segment.self)
            #expect(!segment.likedByMe && segment.counts.likes == 0)
            #expect(try await app.request(.put, "/api/v1/stories/\(id)/like").status == .unauthorized)
            #expect(try await app.request(.put, "/api/v1/stories/nope/like", token: bob).status == .notFound)
        }
    }

    @Test(arguments: Backend.all)
    func commentsAreValidatedPagedAndDeletedByTheRightPeople(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let carol = try await app.signUp("carol")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
            var ids: [String] = []
            for (index, token) in [bob, carol, bob].enumerated() {
                let posted = try await app.request(.post, "/api/v1/stories/\(id)/comments", token: token, json: ["text": "  nice \(index)  "])
                #expect(posted.status == .created)
                let comment = try posted.decode(API.Comment.self)
                #expect(comment.text == "nice \(index)")
                ids.append(comment.id)
                app.clock.advance(by: .seconds(1))
            }
            let blank = try await app.request(.post, "/api/v1/stories/\(id)/comments", token: bob, json: ["text": "   "])
            #expect(blank.status == .badRequest && blank.errorCode == "comment_empty")
            let long = try await app.request(.post, "/api/v1/stories/\(id)/comments", token: bob,
                                             json: ["text": String(repeating: "é", count: 501)])
            #expect(long.status == .badRequest && long.errorCode == "comment_too_long")
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/comments", token: bob, json: ["txt": "x"]).errorCode == "missing_field")

            let first = try await app.request(.get, "/api/v1/stories/\(id)/comments?limit=2").decode(API.Page<API.Comment>.self)
            #expect(first.items.map(\.id) == Array(ids.prefix(2)))
            let cursor = try #require(first.nextCursor)
            let second = try await app.request(.get, "/api/v1/stories/\(id)/comments?limit=2&cursor=\(cursor)")
                .decode(API.Page<API.Comment>.self)
            #expect(second.items.map(\.id) == [ids[2]] && second.nextCursor == nil)

            // carol cannot delete bob's comment; bob can; alice (the story's author) can delete carol's.
            let refused = try await app.request(.delete, "/api/v1/comments/\(ids[0])", token: carol)
            #expect(refused.status == .forbidden && refused.errorCode == "not_allowed")
            #expect(try await app.request(.delete, "/api/v1/comments/\(ids[0])", token: bob).status == .noContent)
            #expect(try await app.request(.delete, "/api/v1/comments/\(ids[1])", token: alice).status == .noContent)
            #expect(try await app.request(.delete, "/api/v1/comments/\(ids[1])", token: alice).status == .notFound)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self).counts.comments == 1)

            _ = try await app.request(.patch, "/api/v1/me/settings", token: alice, json: ["allowComments": false])
            let off = try await app.request(.post, "/api/v1/stories/\(id)/comments", token: bob, json: ["text": "hello"])
            #expect(off.status == .forbidden && off.errorCode == "comments_disabled")
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: bob).decode(API.Segment.self).allowComments == false)
        }
    }

    @Test(arguments: Backend.all)
    func viewersAreNamedOnlyWhenTheyShareTheirViewHistory(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let carol = try await app.signUp("carol")
            _ = try await app.request(.patch, "/api/v1/me/settings", token: bob, json: ["viewHistory": true])
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
            for token in [alice, bob, carol] { _ = try await app.request(.post, "/api/v1/stories/\(id)/views", token: token) }
            let viewers = try await app.request(.get, "/api/v1/stories/\(id)/viewers", token: alice).decode(API.Viewers.self)
            #expect(viewers.count == 2 && viewers.anonymousCount == 1)
            #expect(viewers.viewers.map(\.account.handle) == ["bob"])
            #expect(viewers.viewers.first?.viewedAt == app.clock.now().rfc3339)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)/viewers", token: bob).status == .notFound)
        }
    }

    @Test(arguments: Backend.all)
    func likesAndCommentsArePurgedWithTheSegment(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
            _ = try await app.request(.put, "/api/v1/stories/\(id)/like", token: bob)
            _ = try await app.request(.post, "/api/v1/stories/\(id)/comments", token: bob, json: ["text": "bye"])
            _ = try await app.request(.delete, "/api/v1/stories/\(id)?permanent=true", token: alice)
            try await app.processJobs()
            let receipt = try await app.request(.get, "/api/v1/stories/\(id)/deletion-receipt", token: alice)
            let removed = try receipt.decode(API.Receipt.self).entries.map(\.removed)
            #expect(removed.contains { $0.contains("1 likes") && $0.contains("1 comments") })
            let rows = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT (SELECT COUNT(*) FROM likes) + (SELECT COUNT(*) FROM comments) AS n").first()!
                    .decode(column: "n", as: Int.self)
            }
            #expect(rows == 0)
            let tombstone = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT like_count, comment_count FROM tombstones").first()
            }
            #expect(try tombstone?.decode(column: "like_count", as: Int.self) == 1)
            #expect(try tombstone?.decode(column: "comment_count", as: Int.self) == 1)
        }
    }
}
