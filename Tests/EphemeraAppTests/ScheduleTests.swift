import EphemeraCore
import EphemeraTestSupport
import Foundation
import Testing

/// Lifetimes per story and scheduled stories (issue 19, point 6), with the injected clock.
@Suite struct ScheduleTests {
    @Test(arguments: Backend.all)
    func eachStoryLastsItsOwnLifetimeToTheMillisecond(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let photo = try await MediaFixtures.shared.photo()
            let short = try await app.postLive(alice, file: photo, fields: ["audience": "public", "lifetime": "6h"])[0]
            let long = try await app.postLive(alice, file: photo, fields: ["audience": "public", "lifetime": "48h"])[0]
            let plain = try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0]
            let read = { (id: String) in try await app.request(.get, "/api/v1/stories/\(id)", token: bob) }
            let body = try await read(short).decode(API.Segment.self)
            #expect(body.expiresAt == (app.clock.now() + .seconds(6 * 3600)).rfc3339)

            app.clock.advance(by: .seconds(6 * 3600) - .milliseconds(1))
            #expect(try await read(short).status == .ok)
            app.clock.advance(by: .milliseconds(1))
            #expect(try await read(short).status == .notFound)
            #expect(try await read(plain).status == .ok)
            app.clock.advance(by: .seconds(18 * 3600))
            #expect(try await read(plain).status == .notFound, "the default stays --story-lifetime (24 h)")
            #expect(try await read(long).status == .ok)
            app.clock.advance(by: .seconds(24 * 3600))
            #expect(try await read(long).status == .notFound)

            let bad = try await app.post(alice, file: photo, fields: ["lifetime": "72h"])
            #expect(bad.status == .badRequest && bad.errorCode == "invalid_lifetime")
            #expect(bad.errorMessage?.contains("48h") == true)
        }
        try await TestApp.run(backend, configure: { $0.maxStoryLifetime = .seconds(24 * 3600) }) { app in
            let alice = try await app.signUp("alice")
            let photo = try await MediaFixtures.shared.photo()
            let refused = try await app.post(alice, file: photo, fields: ["lifetime": "48h"])
            #expect(refused.status == .badRequest && refused.errorCode == "lifetime_too_long")
            #expect(try await app.post(alice, file: photo, fields: ["lifetime": "12h"]).status == .created)
        }
    }

    @Test(arguments: Backend.all)
    func aScheduledStoryIsItsAuthorsAloneUntilItsSecondThenLivesItsLifetime(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            try await app.follow(bob, "alice")
            let photo = try await MediaFixtures.shared.photo()
            let publishAt = app.clock.now() + .seconds(2 * 3600)
            let id = try await app.postLive(alice, file: photo, fields: [
                "audience": "public", "publishAt": publishAt.rfc3339, "caption": "soon"])[0]

            let mine = try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self)
            #expect(mine.state == "scheduled" && mine.publishAt == publishAt.rfc3339)
            #expect(mine.expiresAt == (publishAt + .seconds(24 * 3600)).rfc3339, "its lifetime starts when it goes live")
            let list = try await app.request(.get, "/api/v1/me/scheduled", token: alice).decode(API.Segments.self)
            #expect(list.items.map(\.id) == [id])

            func seenByBob() async throws -> (read: Int, story: Int, tray: Int, forYou: Int) {
                (Int(try await app.request(.get, "/api/v1/stories/\(id)", token: bob).status.code),
                 try await app.request(.get, "/api/v1/users/alice/story", token: bob).decode(API.Story.self).segments.count,
                 try await app.request(.get, "/api/v1/tray", token: bob).decode(API.Tray.self).items.count,
                 try await app.request(.get, "/api/v1/feed/for-you", token: bob).decode(API.Page<API.Segment>.self).items.count)
            }
            #expect(try await seenByBob() == (404, 0, 0, 0))
            #expect(try await app.request(.get, "/api/v1/users/alice/story", token: alice).decode(API.Story.self).segments.isEmpty,
                    "not in the author's own story either until it goes live")

            // Editable before it goes live.
            #expect(try await app.request(.patch, "/api/v1/stories/\(id)", token: alice, json: ["caption": "now!"]).status == .ok)

            // Live to the millisecond — with no write in between: the tray Bob's client cached goes stale then.
            app.clock.advance(by: .seconds(2 * 3600) - .milliseconds(1))
            #expect(try await seenByBob() == (404, 0, 0, 0))
            app.clock.advance(by: .milliseconds(1))
            #expect(try await seenByBob() == (200, 1, 1, 1))
            let live = try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self)
            #expect(live.state == "live" && live.caption == "now!")
            #expect(try await app.request(.get, "/api/v1/me/scheduled", token: alice).decode(API.Segments.self).items.isEmpty)

            app.clock.advance(by: .seconds(24 * 3600) - .milliseconds(1))
            #expect(try await seenByBob().read == 200)
            app.clock.advance(by: .milliseconds(1))
            #expect(try await seenByBob() == (404, 0, 0, 0))
        }
    }

    @Test(arguments: Backend.all)
    func aScheduleOutsideTheNextSevenDaysIsRefusedAndNothingIsMade(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let photo = try await MediaFixtures.shared.photo()
            let now = app.clock.now()
            for (publishAt, code) in [((now - .seconds(3600)).rfc3339, "publish_at_in_past"),
                                      ((now + .seconds(8 * 24 * 3600)).rfc3339, "publish_at_too_far"),
                                      ("tomorrow at six", "invalid_publish_at")] {
                let response = try await app.post(alice, file: photo, fields: ["publishAt": publishAt])
                #expect(response.status == .badRequest && response.errorCode == code, "\(publishAt): \(response.text)")
            }
            #expect(try await app.audit().isEmpty)
            #expect(try await app.request(.get, "/api/v1/me/scheduled", token: alice).decode(API.Segments.self).items.isEmpty)
            // Six days ahead, written with an offset, is fine (the clock starts at 2026-11-21T12:00Z); deleted
            // before its time, it never goes live.
            let ahead = try await app.postLive(alice, file: photo, fields: ["publishAt": "2026-11-27T13:00:00+01:00"])[0]
            let body = try await app.request(.get, "/api/v1/stories/\(ahead)", token: alice).decode(API.Segment.self)
            #expect(body.publishAt == "2026-11-27T12:00:00.000Z" && body.state == "scheduled")
            #expect(try await app.request(.delete, "/api/v1/stories/\(ahead)", token: alice).status == .ok)
            #expect(try await app.request(.get, "/api/v1/me/scheduled", token: alice).decode(API.Segments.self).items.isEmpty)
            app.clock.advance(by: .seconds(7 * 24 * 3600))
            #expect(try await app.request(.get, "/api/v1/users/alice/story").decode(API.Story.self).segments.isEmpty)
        }
    }
}
