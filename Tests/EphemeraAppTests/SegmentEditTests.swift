import EphemeraCore
import EphemeraTestSupport
import Foundation
import Testing

/// Editing after posting (issue 19): caption, alt text, audience, comments and downloads, by the author only.
@Suite struct SegmentEditTests {
    @Test(arguments: Backend.all)
    func anAuthorsEditTakesEffectAtOnceEverywhere(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let carol = try await app.signUp("carol")
            try await app.follow(bob, "alice")
            let photo = try await MediaFixtures.shared.photo()
            let id = try await app.postLive(alice, file: photo, fields: [
                "audience": "public", "caption": "Sunday", "altText": "  A red square on a white wall  "])[0]

            var read = try await app.request(.get, "/api/v1/stories/\(id)", token: carol).decode(API.Segment.self)
            #expect(read.altText == "A red square on a white wall" && read.caption == "Sunday")
            #expect(read.allowComments && read.allowDownloads)
            // Bob's tray is cached with Alice in it before the edit.
            #expect(try await app.request(.get, "/api/v1/tray", token: bob).decode(API.Tray.self).items.map(\.author.handle) == ["alice"])

            let edited = try await app.request(.patch, "/api/v1/stories/\(id)", token: alice, json: [
                "caption": "", "altText": "A red square", "audience": "closeFriends",
                "allowComments": false, "allowDownloads": false])
            #expect(edited.status == .ok, "\(edited.text)")
            let body = try edited.decode(API.Segment.self)
            #expect(body.caption == nil && body.altText == "A red square" && body.audience == "closeFriends")
            #expect(!body.allowComments && !body.allowDownloads)

            // The narrower audience holds at once: the stranger and the follower no longer see it anywhere.
            for token in [bob, carol] {
                let response = try await app.request(.get, "/api/v1/stories/\(id)", token: token)
                #expect(response.status == .notFound && response.errorCode == "story_not_found")
                #expect(try await app.request(.get, "/api/v1/users/alice/story", token: token)
                    .decode(API.Story.self).segments.isEmpty)
                let media = try await app.request(.get, "/media/\(id)/photo.jpg", token: token)
                #expect(media.status == .notFound)
            }
            #expect(try await app.request(.get, "/api/v1/tray", token: bob).decode(API.Tray.self).items.isEmpty)

            // Widened again, with comments and downloads off for this segment only (the account allows both).
            _ = try await app.request(.put, "/api/v1/me/close-friends/bob", token: alice)
            #expect(try await app.request(.patch, "/api/v1/stories/\(id)", token: alice, json: ["audience": "followers"]).status == .ok)
            read = try await app.request(.get, "/api/v1/stories/\(id)", token: bob).decode(API.Segment.self)
            #expect(read.altText == "A red square" && !read.allowComments && !read.allowDownloads)
            let comment = try await app.request(.post, "/api/v1/stories/\(id)/comments", token: bob, json: ["text": "hi"])
            #expect(comment.status == .forbidden && comment.errorCode == "comments_disabled")
            let download = try await app.request(.get, "/api/v1/stories/\(id)/download", token: bob)
            #expect(download.status == .forbidden && download.errorCode == "downloads_disabled")

            // Turned back on, they work.
            #expect(try await app.request(.patch, "/api/v1/stories/\(id)", token: alice,
                                          json: ["allowComments": true, "allowDownloads": true]).status == .ok)
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/comments", token: bob, json: ["text": "hi"]).status == .created)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)/download", token: bob).status == .accepted)
        }
    }

    @Test(arguments: Backend.all)
    func onlyTheAuthorEditsAndBadEditsAreRefusedClearly(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            try await app.follow(bob, "alice")
            let photo = try await MediaFixtures.shared.photo()
            let id = try await app.postLive(alice, file: photo, fields: ["audience": "followers", "caption": "kept"])[0]

            // A follower who sees it, and a stranger, learn nothing; signed out, sign in first.
            let byBob = try await app.request(.patch, "/api/v1/stories/\(id)", token: bob, json: ["caption": "mine now"])
            #expect(byBob.status == .notFound && byBob.errorCode == "story_not_found")
            #expect(try await app.request(.patch, "/api/v1/stories/\(id)", json: ["caption": "x"]).status == .unauthorized)
            #expect(try await app.request(.patch, "/api/v1/stories/nope", token: alice, json: ["caption": "x"]).status == .notFound)

            let tooLong = try await app.request(.patch, "/api/v1/stories/\(id)", token: alice,
                                                json: ["altText": String(repeating: "a", count: 1001)])
            #expect(tooLong.status == .badRequest && tooLong.errorCode == "alt_text_too_long")
            #expect(tooLong.errorMessage?.contains("1000") == true)
            let audience = try await app.request(.patch, "/api/v1/stories/\(id)", token: alice, json: ["audience": "everyone"])
            #expect(audience.status == .badRequest && audience.errorCode == "invalid_audience")
            let caption = try await app.request(.patch, "/api/v1/stories/\(id)", token: alice,
                                                json: ["caption": String(repeating: "c", count: 2201)])
            #expect(caption.status == .badRequest && caption.errorCode == "caption_too_long")
            let wrongType = try await app.request(.patch, "/api/v1/stories/\(id)", token: alice, json: ["allowComments": "yes"])
            #expect(wrongType.status == .badRequest)
            // Nothing of a refused edit was kept.
            let read = try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self)
            #expect(read.caption == "kept" && read.altText == nil && read.audience == "followers" && read.allowComments)

            // Alt text too long at posting is refused the same way, and nothing is made.
            let posted = try await app.post(alice, file: photo, fields: ["altText": String(repeating: "a", count: 1001)])
            #expect(posted.status == .badRequest && posted.errorCode == "alt_text_too_long")

            // A deleted segment is no longer edited; its author is told why.
            #expect(try await app.request(.delete, "/api/v1/stories/\(id)", token: alice).status == .ok)
            let deleted = try await app.request(.patch, "/api/v1/stories/\(id)", token: alice, json: ["caption": "late"])
            #expect(deleted.status == .conflict && deleted.errorCode == "not_editable")
        }
    }

    @Test(arguments: Backend.all)
    func postingCanTurnCommentsAndDownloadsOffForOneSegment(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let photo = try await MediaFixtures.shared.photo()
            let quiet = try await app.postLive(alice, file: photo, fields: [
                "audience": "public", "allowComments": "false", "allowDownloads": "false"])[0]
            let open = try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0]
            let quietBody = try await app.request(.get, "/api/v1/stories/\(quiet)", token: bob).decode(API.Segment.self)
            let openBody = try await app.request(.get, "/api/v1/stories/\(open)", token: bob).decode(API.Segment.self)
            #expect(!quietBody.allowComments && !quietBody.allowDownloads)
            #expect(openBody.allowComments && openBody.allowDownloads)
            #expect(try await app.request(.post, "/api/v1/stories/\(quiet)/comments", token: bob, json: ["text": "hi"]).status == .forbidden)
            #expect(try await app.request(.post, "/api/v1/stories/\(open)/comments", token: bob, json: ["text": "hi"]).status == .created)
            let bad = try await app.post(alice, file: photo, fields: ["allowComments": "maybe"])
            #expect(bad.status == .badRequest)
        }
    }
}
