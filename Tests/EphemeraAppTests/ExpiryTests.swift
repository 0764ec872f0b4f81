import EphemeraCore
import EphemeraTestSupport
import Foundation
import Testing

@Suite struct ExpiryTests {
    @Test(arguments: Backend.all)
    func segmentLeavesEveryReadPathAtExpiresAtToTheMillisecond(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            try await app.follow(bob, "alice")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
            let segment = try #require(try await app.services.segments.segment(id: id))

            func visibleEverywhere() async throws -> [String: Bool] {
                [
                    "segment": try await app.request(.get, "/api/v1/stories/\(id)", token: bob).status == .ok,
                    "story": ((try await app.request(.get, "/api/v1/users/alice/story", token: bob)).json["segments"] as? [Any])?.isEmpty == false,
                    "tray": ((try await app.request(.get, "/api/v1/tray", token: bob)).json["items"] as? [Any])?.isEmpty == false,
                    "forYou": ((try await app.request(.get, "/api/v1/feed/for-you", token: bob)).json["items"] as? [Any])?.isEmpty == false,
                    "media": try await app.request(.get, "/media/\(id)/photo.jpg", token: bob).status == .ok,
                    "ring": try await app.request(.get, "/api/v1/users/alice", token: bob).json["storyRing"] as? String != "none",
                    "signedOut": try await app.request(.get, "/api/v1/stories/\(id)").status == .ok,
                ]
            }
            app.clock.set(segment.expiresAt - .milliseconds(1))
            #expect(try await visibleEverywhere().values.allSatisfy { $0 })
            // The sweeper has not run: expiry is exact at read time anyway.
            app.clock.set(segment.expiresAt)
            let after = try await visibleEverywhere()
            #expect(after.values.allSatisfy { !$0 }, "\(after)")
            // The author no longer has it in the story either, but can read it.
            #expect(((try await app.request(.get, "/api/v1/users/alice/story", token: alice)).json["segments"] as? [Any])?.isEmpty == true)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: alice).status == .ok)
        }
    }

    @Test(arguments: Backend.all)
    func sweeperArchivesExpiredSegmentsForAuthorsWhoKeepAnArchive(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo())[0]
            #expect(try await app.services.sweeper.sweep() == 0)
            app.clock.advance(by: .seconds(24 * 3600))
            #expect(try await app.services.sweeper.sweep() == 1)
            let segment = try await app.request(.get, "/api/v1/stories/\(id)", token: alice)
            #expect(segment.json["state"] as? String == "archived")
            let archive = try await app.request(.get, "/api/v1/me/archive", token: alice)
            #expect((archive.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [id])
            // The author still gets the archived media; nobody else does.
            #expect(try await app.request(.get, "/media/\(id)/photo.jpg", token: alice).status == .ok)
            #expect(try await app.request(.get, "/media/\(id)/photo.jpg").status == .notFound)
            #expect(try await app.request(.get, "/api/v1/me/archive").status == .unauthorized)
        }
    }

    @Test(arguments: Backend.all)
    func sweeperPurgesExpiredSegmentsWhenTheAuthorKeepsNoArchive(backend: Backend) async throws {
        try await TestApp.run(backend, configure: { $0.storyLifetime = .seconds(3600) }) { app in
            let alice = try await app.signUp("alice")
            _ = try await app.request(.patch, "/api/v1/me/settings", token: alice, json: ["archiveExpired": false])
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo())[0]
            app.clock.advance(by: .seconds(3599))
            #expect(try await app.services.sweeper.sweep() == 0)
            app.clock.advance(by: .seconds(1))
            #expect(try await app.services.sweeper.sweep() == 1)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: alice).status == .notFound)
            try await app.processJobs()
            #expect(!FileManager.default.fileExists(atPath: app.dataDirectory + "/media/\(id)"))
            #expect(try await app.services.segments.segment(id: id) == nil)
            #expect(try await app.services.deletion.tombstoneIDs() == [id])
            #expect(try await app.audit().isEmpty)
            #expect(((try await app.request(.get, "/api/v1/me/archive", token: alice)).json["items"] as? [Any])?.isEmpty == true)
        }
    }

    /// The sweep follows `Lifecycle` (live → expired → archived), never writing a transition it calls
    /// impossible; a sweep interrupted between its two steps leaves `expired`, which the next one settles.
    @Test(arguments: Backend.all)
    func sweepMovesThroughExpiredAsTheLifecycleSays(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo())[0]
            #expect(Lifecycle.next(after: .live, on: .archive, expired: true) == nil)
            app.clock.advance(by: .seconds(24 * 3600))
            #expect(try await app.services.deletion.expireDue(now: app.clock.now(), limit: 10) == 1)
            let expired = try await app.request(.get, "/api/v1/stories/\(id)", token: alice)
            #expect(expired.status == .ok && expired.json["state"] as? String == "expired")
            // Still the author's to read, with its media; nobody else's.
            #expect(try await app.request(.get, "/media/\(id)/photo.jpg", token: alice).status == .ok)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)").errorCode == "story_not_found")
            // The next sweep settles it.
            #expect(try await app.services.sweeper.sweep() == 1)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: alice).json["state"] as? String == "archived")
            #expect(try await app.services.sweeper.sweep() == 0)
        }
    }
}
