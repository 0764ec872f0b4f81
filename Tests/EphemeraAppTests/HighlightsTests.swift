import EphemeraCore
import EphemeraTestSupport
import Foundation
import SQLKit
import Testing

/// Highlights (issue 19, point 1): segments kept on a profile past their 24 hours, read through the highlight only.
@Suite struct HighlightsTests {
    /// The path of a URL the API gave (it puts the public URL in front).
    static func path(_ url: String?) -> String { (url ?? "").replacingOccurrences(of: "http://stories.test", with: "") }

    @Test(arguments: Backend.all)
    func anAudienceReadsHighlightedSegmentsPastTheirExpiryThroughTheHighlightOnly(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let carol = try await app.signUp("carol")
            try await app.follow(bob, "alice")
            let photo = try await MediaFixtures.shared.photo()
            let beach = try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0]
            let friends = try await app.postLive(alice, file: photo, fields: ["audience": "followers"])[0]

            let made = try await app.request(.post, "/api/v1/me/highlights", token: alice,
                                             json: ["title": "  Summer ", "segmentIds": [beach, friends]])
            #expect(made.status == .created, "\(made.text)")
            let summer = try made.decode(API.Highlight.self)
            #expect(summer.title == "Summer" && summer.segmentCount == 2 && summer.segments?.map(\.id) == [beach, friends])
            #expect(Self.path(summer.cover.poster) == "/media/\(beach)/photo.jpg?highlight=\(summer.id)")

            // A day later the story is over: the segments are in alice's archive, and nowhere but the highlight.
            app.clock.advance(by: .seconds(25 * 3600))
            try await app.services.sweeper.sweep()
            #expect(try await app.request(.get, "/api/v1/stories/\(beach)", token: alice).decode(API.Segment.self).state == "archived")
            #expect(try await app.request(.get, "/api/v1/stories/\(beach)", token: bob).status == .notFound)
            #expect(try await app.request(.get, "/api/v1/users/alice/story", token: bob).decode(API.Story.self).segments.isEmpty)

            func opened(_ token: String?, _ id: String? = nil) async throws -> [String] {
                let response = try await app.request(.get, "/api/v1/highlights/\(id ?? summer.id)", token: token)
                guard response.status == .ok else { return [response.errorCode ?? "\(response.status)"] }
                return try response.decode(API.Highlight.self).segments?.map(\.id) ?? []
            }
            #expect(try await opened(bob) == [beach, friends])
            #expect(try await opened(carol) == [beach])
            #expect(try await opened(nil) == [beach])
            // Its media comes through the highlight, key and ciphertext included; the segment's own URL stays shut.
            let asCarol = try await app.request(.get, "/api/v1/highlights/\(summer.id)", token: carol).decode(API.Highlight.self)
            let segment = try #require(asCarol.segments?.first)
            #expect(segment.mediaKey != nil && segment.encryptedMedia?.photo != nil)
            #expect(try await app.request(.get, Self.path(segment.media.photo), token: carol).status == .ok)
            #expect(try await app.request(.get, "/media/\(beach)/photo.jpg", token: carol).status == .notFound)
            // Another highlight's id opens nothing else, and a follower-only segment stays the followers'.
            #expect(try await app.request(.get, "/media/\(friends)/photo.jpg?highlight=\(summer.id)", token: carol).status == .notFound)
            #expect(try await app.request(.get, "/media/\(friends)/photo.jpg?highlight=\(summer.id)", token: bob).status == .ok)
            #expect(try await app.request(.get, "/media/\(beach)/photo.jpg?highlight=nosuchhighlight").status == .notFound)

            // The profile row: what each caller sees of it.
            func row(_ token: String?) async throws -> [String] {
                try await app.request(.get, "/api/v1/users/alice/highlights", token: token).decode(API.Highlights.self)
                    .items.map { "\($0.title) \($0.segmentCount)" }
            }
            #expect(try await row(bob) == ["Summer 2"])
            #expect(try await row(carol) == ["Summer 1"])

            // Renamed, reordered, a new cover: the cover a caller cannot see gives way to the first they can.
            let changed = try await app.request(.patch, "/api/v1/highlights/\(summer.id)", token: alice,
                                                json: ["title": "Summer '26", "segmentIds": [friends, beach], "coverSegmentId": friends])
            #expect(changed.status == .ok, "\(changed.text)")
            #expect(try changed.decode(API.Highlight.self).segments?.map(\.id) == [friends, beach])
            let forBob = try await app.request(.get, "/api/v1/users/alice/highlights", token: bob).decode(API.Highlights.self).items[0]
            #expect(forBob.title == "Summer '26" && Self.path(forBob.cover.poster).hasPrefix("/media/\(friends)/"))
            let forCarol = try await app.request(.get, "/api/v1/users/alice/highlights", token: carol).decode(API.Highlights.self).items[0]
            #expect(Self.path(forCarol.cover.poster).hasPrefix("/media/\(beach)/"))

            // Bad input, each with its own error.
            let bobsOwn = try await app.postLive(bob, file: photo)[0]
            let refusals: [([String: any Sendable], Int, String)] = [
                (["title": " ", "segmentIds": [beach]], 400, "title_empty"),
                (["title": String(repeating: "a", count: 41), "segmentIds": [beach]], 400, "title_too_long"),
                (["title": "A\nB", "segmentIds": [beach]], 400, "invalid_title"),
                (["title": "Mine", "segmentIds": [String]()], 400, "highlight_empty"),
                (["title": "Mine", "segmentIds": [beach, beach]], 400, "duplicate_segment"),
                (["title": "Mine", "segmentIds": [bobsOwn]], 422, "segment_not_highlightable"),
                (["title": "Mine", "segmentIds": ["nosuchsegment"]], 422, "segment_not_highlightable"),
                (["title": "Mine", "segmentIds": [beach], "coverSegmentId": friends], 400, "invalid_cover"),
                (["title": "Mine", "segmentIds": Array(repeating: beach, count: 101)], 400, "too_many_segments"),
            ]
            for (json, status, code) in refusals {
                let refused = try await app.request(.post, "/api/v1/me/highlights", token: alice, json: json)
                #expect(refused.status.code == status && refused.errorCode == code, "\(json): \(refused.text)")
            }
            let notHers = try await app.request(.patch, "/api/v1/highlights/\(summer.id)", token: bob, json: ["title": "Mine"])
            #expect(notHers.status == .notFound && notHers.errorCode == "highlight_not_found")
            #expect(try await app.request(.delete, "/api/v1/highlights/\(summer.id)", token: bob).status == .notFound)
            #expect(try await app.request(.post, "/api/v1/me/highlights", json: ["title": "x", "segmentIds": [beach]]).status == .unauthorized)

            // The order of highlights on the profile.
            let travel = try await app.request(.post, "/api/v1/me/highlights", token: alice,
                                               json: ["title": "Travel", "segmentIds": [beach]]).decode(API.Highlight.self)
            #expect(try await row(bob) == ["Summer '26 2", "Travel 1"])
            #expect(try await app.request(.put, "/api/v1/me/highlights/order", token: alice,
                                          json: ["ids": [travel.id, summer.id]]).status == .noContent)
            #expect(try await row(bob) == ["Travel 1", "Summer '26 2"])
            // Those left out follow in their present order; an id not hers is refused.
            #expect(try await app.request(.put, "/api/v1/me/highlights/order", token: alice,
                                          json: ["ids": [summer.id]]).status == .noContent)
            #expect(try await row(bob) == ["Summer '26 2", "Travel 1"])
            let badOrder = try await app.request(.put, "/api/v1/me/highlights/order", token: alice,
                                                 json: ["ids": [travel.id, "nosuchhighlight"]])
            #expect(badOrder.status == .badRequest && badOrder.errorCode == "invalid_order")

            // Deleting a segment takes it out of every highlight at once; an empty highlight is not shown.
            #expect(try await app.request(.delete, "/api/v1/stories/\(beach)", token: alice).status.code < 300)
            #expect(try await row(bob) == ["Summer '26 1"])
            #expect(try await row(carol) == [])
            #expect(try await opened(carol) == ["highlight_not_found"])
            #expect(try await opened(bob, travel.id) == ["highlight_not_found"])
            // Its owner still opens the empty one, to mend or delete it.
            #expect(try await opened(alice, travel.id) == [])
            #expect(try await opened(alice) == [friends])
            #expect(try await app.request(.delete, "/api/v1/highlights/\(travel.id)", token: alice).status == .noContent)
            #expect(try await app.request(.get, "/api/v1/highlights/\(travel.id)", token: alice).errorCode == "highlight_not_found")
            #expect(try await row(alice) == ["Summer '26 1"])
        }
    }

    /// A highlighted segment outlives its story even when its author keeps no archive; purging it takes it out
    /// of every highlight (the receipt says so), and deleting the account takes the highlights.
    @Test(arguments: Backend.withStores)
    func purgingTakesASegmentOutOfEveryHighlightAndTheAccountTakesItsHighlights(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            #expect(try await app.request(.patch, "/api/v1/me/settings", token: alice, json: ["archiveExpired": false]).status == .ok)
            let photo = try await MediaFixtures.shared.photo()
            let kept = try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0]
            let gone = try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0]
            let highlight = try await app.request(.post, "/api/v1/me/highlights", token: alice,
                                                  json: ["title": "Kept", "segmentIds": [kept], "coverSegmentId": kept])
                .decode(API.Highlight.self)
            _ = try await app.request(.post, "/api/v1/me/highlights", token: alice, json: ["title": "Also", "segmentIds": [kept]])

            app.clock.advance(by: .seconds(25 * 3600))
            try await app.services.sweeper.sweep()
            try await app.processJobs()
            #expect(try await app.request(.get, "/api/v1/stories/\(gone)/deletion-receipt", token: alice).status == .ok)
            #expect(try await app.request(.get, "/api/v1/stories/\(kept)", token: alice).decode(API.Segment.self).state == "archived")
            #expect(try await app.request(.get, "/api/v1/highlights/\(highlight.id)").decode(API.Highlight.self).segmentCount == 1)

            _ = try await app.request(.delete, "/api/v1/stories/\(kept)?permanent=true", token: alice)
            try await app.processJobs()
            let receipt = try await app.request(.get, "/api/v1/stories/\(kept)/deletion-receipt", token: alice).decode(API.Receipt.self)
            #expect(receipt.entries.contains { $0.removed.contains("2 highlight_segments") }, "\(receipt.entries)")
            #expect(try await app.request(.get, "/api/v1/users/alice/highlights").decode(API.Highlights.self).items.isEmpty)
            #expect(try await app.request(.get, "/api/v1/highlights/\(highlight.id)", token: alice)
                .decode(API.Highlight.self).segments == [])

            // The purged cover is no longer named anywhere.
            let covers = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM highlights WHERE cover_segment_id IS NOT NULL").first()?
                    .decode(column: "n", as: Int.self)
            }
            #expect(covers == 0)

            #expect(try await app.request(.delete, "/api/v1/me", token: alice, json: ["password": "correct horse"]).status == .accepted)
            let left = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM highlights").first()?.decode(column: "n", as: Int.self)
            }
            #expect(left == 0)
        }
    }
}
