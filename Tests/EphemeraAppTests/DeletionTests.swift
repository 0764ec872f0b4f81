import EphemeraCore
import EphemeraTestSupport
import EphemeraWorkers
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite struct DeletionTests {
    /// Posts a public photo for alice, followed by bob; returns (alice, bob, segment id).
    func setUp(_ app: TestApp) async throws -> (String, String, String) {
        let alice = try await app.signUp("alice")
        let bob = try await app.signUp("bob")
        try await app.follow(bob, "alice")
        let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
        return (alice, bob, id)
    }

    /// Where the segment shows for `token`. A read that does not show it must answer exactly as for a segment
    /// that never existed (404 and the read's own code): a 500 after a delete would not pass as "hidden".
    func visibleAnywhere(_ app: TestApp, _ id: String, token: String?) async throws -> [String] {
        func shown(_ response: TestResponse, notFoundCode: String) -> Bool {
            if response.status == .ok { return true }
            #expect(response.status == .notFound && response.error?.code == notFoundCode, "\(response.status) \(response.text)")
            return false
        }
        var seen: [String] = []
        if shown(try await app.request(.get, "/api/v1/stories/\(id)", token: token), notFoundCode: "story_not_found") {
            seen.append("segment")
        }
        if shown(try await app.request(.get, "/media/\(id)/photo.jpg", token: token), notFoundCode: "media_not_found") {
            seen.append("media")
        }
        let storyResponse = try await app.request(.get, "/api/v1/users/alice/story", token: token)
        if storyResponse.status == .notFound {
            // Her account is gone (deleted): the handle no longer resolves.
            #expect(storyResponse.error?.code == "user_not_found")
        } else if try storyResponse.decode(API.Story.self).segments.contains(where: { $0.id == id }) {
            seen.append("story")
        }
        let feed = try await app.request(.get, "/api/v1/feed/for-you", token: token).decode(API.Page<API.Segment>.self)
        if feed.items.contains(where: { $0.id == id }) { seen.append("forYou") }
        if let token, try await app.request(.get, "/api/v1/tray", token: token).decode(API.Tray.self).items
            .contains(where: { $0.author.handle == "alice" }) {
            seen.append("tray")
        }
        return seen
    }

    @Test(arguments: Backend.withStores)
    func deleteHidesEverywhereAtOnceAndRestoreBringsItBack(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (alice, bob, id) = try await setUp(app)
            #expect(try await visibleAnywhere(app, id, token: bob).count == 5)
            #expect(try await app.request(.delete, "/api/v1/stories/\(id)", token: bob).status == .notFound)
            #expect(try await app.request(.delete, "/api/v1/stories/\(id)").status == .unauthorized)

            let deleted = try await app.request(.delete, "/api/v1/stories/\(id)", token: alice)
            #expect(deleted.status == .ok)
            let body = try deleted.decode(API.Deleted.self)
            #expect(body.id == id && body.state == "deleted" && body.legalHoldUntil == nil)
            let until = try #require(body.restorableUntil)
            #expect(until == (app.clock.now() + .seconds(30 * 86400)).rfc3339)
            #expect(try await visibleAnywhere(app, id, token: bob).isEmpty)
            #expect(try await visibleAnywhere(app, id, token: nil).isEmpty)
            // The author still reads it (and its media, for the recently-deleted list).
            let own = try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self)
            #expect(own.state == "deleted" && own.restorableUntil == until)
            let recent = try await app.request(.get, "/api/v1/me/recently-deleted", token: alice)
                .decode(API.Page<API.Segment>.self)
            #expect(recent.items.map(\.id) == [id])

            #expect(try await app.request(.post, "/api/v1/stories/\(id)/restore", token: bob).status == .notFound)
            let restored = try await app.request(.post, "/api/v1/stories/\(id)/restore", token: alice)
            #expect(try restored.status == .ok && (restored.decode(API.Segment.self)).state == "live")
            #expect(try await visibleAnywhere(app, id, token: bob).count == 5)
            let again = try await app.request(.post, "/api/v1/stories/\(id)/restore", token: alice)
            #expect(again.status == .conflict && again.errorCode == "not_restorable")
            #expect(try await app.audit().isEmpty)
        }
    }

    /// A share link of a followers-only segment: once deleted, 410 for a follower, 404 for a stranger and the
    /// signed-out (the link never reveals that a hidden story existed); once purged, 404 for everyone.
    @Test(arguments: Backend.withStores)
    func shareLinksOfHiddenStoriesAnswerGoneOnlyToTheirAudience(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let carol = try await app.signUp("carol")
            try await app.follow(bob, "alice")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "followers"])[0]
            let shared = try await app.request(.post, "/api/v1/stories/\(id)/shares", token: bob)
            let path = String(try shared.decode(API.ShareLink.self).shareUrl.dropFirst("http://stories.test".count))
            #expect(try await app.request(.get, path, token: bob).status == .ok)
            #expect(try await app.request(.get, path, token: carol).status == .notFound)
            #expect(try await app.request(.delete, "/api/v1/stories/\(id)", token: alice).status == .ok)
            #expect(try await app.request(.get, path, token: bob).status == .gone)
            #expect(try await app.request(.get, path, token: carol).status == .notFound)
            let signedOut = try await app.request(.get, path)
            let unknown = try await app.request(.get, "/s/unknowncode")
            #expect(signedOut.status == .notFound && signedOut.text == unknown.text)
            _ = try await app.request(.delete, "/api/v1/stories/\(id)?permanent=true", token: alice)
            try await app.processJobs()
            #expect(try await app.request(.get, path, token: bob).status == .notFound)
            #expect(try await app.audit().isEmpty)
        }
    }

    /// Receipts are stored typed (instants as numbers) and formatted by the API; one written before they were
    /// typed (dates as strings) still reads the same.
    @Test(arguments: Backend.withStores)
    func receiptsStoredBeforeTheyWereTypedStillRead(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let aliceID = try #require(try await app.services.accounts.account(handle: "alice")?.id)
            let old = """
                {"segmentID":"old1","kind":"photo","uploadedAt":"2026-11-20T10:00:00.000Z","purgeStartedAt":"2026-11-21T10:00:00.000Z",\
                "purgedAt":"2026-11-21T10:00:01.500Z","entries":[{"store":"keyring","removed":"data key destroyed","at":"2026-11-21T10:00:01.000Z"}],\
                "kept":"an anonymous tombstone","noReadableCopyAfter":"2026-11-28T10:00:01.500Z"}
                """
            try await app.services.database.withConnection { sql in
                try await sql.raw("""
                    INSERT INTO deletion_receipts (segment_id, author_id, receipt, created_at)
                    VALUES ('old1', \(bind: aliceID), \(bind: old), 0)
                    """).run()
            }
            let receipt = try await app.request(.get, "/api/v1/stories/old1/deletion-receipt", token: alice)
            #expect(receipt.status == .ok)
            let body = try receipt.decode(API.Receipt.self)
            #expect(body.purgedAt == "2026-11-21T10:00:01.500Z" && body.noReadableCopyAfter == "2026-11-28T10:00:01.500Z")
            #expect(body.entries == [API.Receipt.Entry(store: "keyring", removed: "data key destroyed", at: "2026-11-21T10:00:01.000Z")])
        }
    }

    @Test(arguments: Backend.withStores)
    func shareLinksAnswerGoneOnceDeletedAndAfterThePurge(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (alice, bob, id) = try await setUp(app)
            let shared = try await app.request(.post, "/api/v1/stories/\(id)/shares", token: bob)
            #expect(shared.status == .created)
            let url = try shared.decode(API.ShareLink.self).shareUrl
            #expect(url.hasPrefix("http://stories.test/s/"))
            let path = String(url.dropFirst("http://stories.test".count))
            let page = try await app.request(.get, path)
            #expect(page.status == .ok && page.text.contains("og:image") && page.text.contains("@alice"))
            #expect(page.text.contains("twitter:card") && page.text.contains("og:title"))
            let embed = try await app.request(.get, path + "/embed")
            #expect(embed.status == .ok && embed.text.contains("<img") && !embed.text.contains("og:title"))
            // Only the embed may be framed by other sites.
            let csp = HTTPField.Name("Content-Security-Policy")!
            #expect(page.headers[csp]?.contains("frame-ancestors 'none'") == true)
            #expect(embed.headers[csp]?.contains("frame-ancestors *") == true)
            #expect(page.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self).counts.shares == 1)
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/shares").status == .unauthorized)

            _ = try await app.request(.delete, "/api/v1/stories/\(id)", token: alice)
            let gone = try await app.request(.get, path)
            #expect(gone.status == .gone && gone.text.contains("no longer available"))
            #expect(try await app.request(.get, path + "/embed").status == .gone)
            _ = try await app.request(.post, "/api/v1/stories/\(id)/restore", token: alice)
            #expect(try await app.request(.get, path).status == .ok)
            _ = try await app.request(.delete, "/api/v1/stories/\(id)?permanent=true", token: alice)
            try await app.processJobs()
            #expect(try await app.request(.get, path).status == .gone)
            #expect(try await app.request(.get, "/s/unknowncode").status == .notFound)
            #expect(try await app.audit().isEmpty)
        }
    }

    /// A purge stopped after any step (as a kill -9 would stop it) completes when the job runs again, with a
    /// receipt as complete as an uninterrupted one.
    @Test(arguments: Backend.withStores, Array(0...Purger.Step.allCases.count - 1))
    func purgeInterruptedAfterAnyStepCompletesWhenRerun(backend: Backend, stepsDone: Int) async throws {
        try await TestApp.run(backend) { app in
            let (alice, bob, id) = try await setUp(app)
            _ = try await app.request(.post, "/api/v1/stories/\(id)/views", token: bob)
            try await app.services.deletion.beginPurge(segmentID: id, now: app.clock.now())
            for step in Purger.Step.allCases.prefix(stepsDone) {
                try await app.services.purger.run(step, segmentID: id)
            }
            try await app.processJobs()
            let receipt = try await app.request(.get, "/api/v1/stories/\(id)/deletion-receipt", token: alice)
            #expect(receipt.status == .ok, "after \(stepsDone) steps")
            let removed = try receipt.decode(API.Receipt.self).entries.map(\.removed)
            #expect(removed.contains { $0.hasPrefix("data key destroyed") })
            #expect(removed.contains { $0.hasPrefix("photo.jpg") })
            #expect(removed.contains { $0.contains("1 views") })
            #expect(!app.dataFiles().contains { $0.contains(id) })
            #expect(!(try await app.storedBlobs()).keys.contains { $0.contains(id) })
        }
    }

    @Test(arguments: Backend.withStores)
    func restoringAfterExpiryLandsInTheArchive(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (alice, _, id) = try await setUp(app)
            _ = try await app.request(.delete, "/api/v1/stories/\(id)", token: alice)
            app.clock.advance(by: .seconds(25 * 3600))
            let restored = try await app.request(.post, "/api/v1/stories/\(id)/restore", token: alice)
            #expect(try restored.decode(API.Segment.self).state == "archived")
            // Deleting an archived segment works the same.
            let deleted = try await app.request(.delete, "/api/v1/stories/\(id)", token: alice)
            #expect(try deleted.status == .ok && (deleted.decode(API.Deleted.self)).state == "deleted")
        }
    }

    @Test(arguments: Backend.withStores)
    func windowEndPurgesWithinAMinuteAndLeavesOnlyATombstoneAndAReceipt(backend: Backend) async throws {
        try await TestApp.run(backend, configure: { $0.restoreWindow = .seconds(3600) }) { app in
            let (alice, bob, id) = try await setUp(app)
            _ = try await app.request(.post, "/api/v1/stories/\(id)/views", token: bob)
            _ = try await app.request(.delete, "/api/v1/stories/\(id)", token: alice)
            app.clock.advance(by: .seconds(3599))
            try await app.services.sweeper.sweep()
            try await app.processJobs()
            #expect(try await app.services.segments.segment(id: id)?.state == .deleted, "not before the window ends")

            app.clock.advance(by: .seconds(30))  // a sweep runs at least every 30 s
            try await app.services.sweeper.sweep()
            try await app.processJobs()
            #expect(try await app.services.segments.segment(id: id) == nil)

            let gone = try await app.request(.post, "/api/v1/stories/\(id)/restore", token: alice)
            #expect(gone.status == .gone && gone.errorCode == "story_purged")
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/restore", token: bob).status == .notFound)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: alice).status == .notFound)

            let receipt = try await app.request(.get, "/api/v1/stories/\(id)/deletion-receipt", token: alice)
            #expect(receipt.status == .ok)
            let body = try receipt.decode(API.Receipt.self)
            #expect(body.segmentID == id && body.kind == "photo")
            #expect(Set(body.entries.map(\.store)) == ["keyring", "media", "database"])
            #expect(body.entries.contains { $0.removed.contains("photo.jpg") })
            #expect(body.entries.contains { $0.removed.contains("1 views") })
            #expect(body.purgedAt == app.clock.now().rfc3339)
            // The longer of the key-backup (7 days) and database-backup (30 days) retentions: a database backup
            // keeps the caption and comments in clear until its rotation deletes it.
            #expect(body.noReadableCopyAfter == (app.clock.now() + .seconds(30 * 86400)).rfc3339)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)/deletion-receipt", token: bob).status == .notFound)

            // The tombstone keeps aggregates and no identity.
            let tombstone = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT * FROM tombstones WHERE segment_id = \(bind: id)").first()
            }
            let columns = try #require(tombstone?.allColumns)
            #expect(!columns.contains { $0.contains("author") || $0.contains("viewer") || $0.contains("caption") })
            #expect(try tombstone?.decode(column: "view_count", as: Int.self) == 1)
            #expect(try await app.audit().isEmpty)
            #expect(!app.dataFiles().contains { $0.contains(id) })
            #expect(!(try await app.storedBlobs()).keys.contains { $0.contains(id) })
        }
    }

    @Test(arguments: Backend.withStores)
    func permanentDeleteAndDeleteAllMyStoriesPurgeAtOnce(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (alice, bob, first) = try await setUp(app)
            let purging = try await app.request(.delete, "/api/v1/stories/\(first)?permanent=true", token: alice)
            #expect(try purging.status == .accepted && (purging.decode(API.Deleted.self)).state == "purging")
            #expect(try await visibleAnywhere(app, first, token: bob).isEmpty)
            let early = try await app.request(.get, "/api/v1/stories/\(first)/deletion-receipt", token: alice)
            #expect(early.status == .conflict && early.errorCode == "not_purged")
            try await app.processJobs()
            #expect(try await app.request(.get, "/api/v1/stories/\(first)/deletion-receipt", token: alice).status == .ok)

            let photo = try await MediaFixtures.shared.photo()
            let live = try await app.postLive(alice, file: photo)[0]
            let archived = try await app.postLive(alice, file: photo)[0]
            let deleted = try await app.postLive(alice, file: photo)[0]
            _ = try await app.request(.delete, "/api/v1/stories/\(deleted)", token: alice)
            app.clock.advance(by: .seconds(86400))
            try await app.services.sweeper.sweep()
            #expect(try await app.services.segments.segment(id: archived)?.state == .archived)
            _ = live

            let refused = try await app.request(.delete, "/api/v1/me/stories", token: alice, json: ["password": "wrong one"])
            #expect(refused.status == .forbidden && refused.errorCode == "reauthentication_required")
            let missing = try await app.request(.delete, "/api/v1/me/stories", token: alice)
            #expect(missing.status == .forbidden && missing.errorCode == "reauthentication_required")
            let accepted = try await app.request(.delete, "/api/v1/me/stories", token: alice, json: ["password": "correct horse"])
            #expect(try accepted.status == .accepted && (accepted.decode(API.Purging.self)) == API.Purging(state: "purging", segments: 3))
            try await app.processJobs()
            let remaining = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM segments").first()!.decode(column: "n", as: Int.self)
            }
            #expect(remaining == 0)
            #expect(try await app.services.deletion.tombstoneIDs().count == 4)
            #expect(try await app.audit().isEmpty)
            #expect(try await app.request(.get, "/api/v1/me", token: alice).status == .ok, "the account stays")
        }
    }

    @Test(arguments: Backend.withStores)
    func deletingTheAccountPurgesEverythingAndRemovesIt(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (alice, bob, id) = try await setUp(app)
            let bobsStory = try await app.postLive(bob, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
            _ = try await app.request(.post, "/api/v1/stories/\(bobsStory)/views", token: alice)
            let refused = try await app.request(.delete, "/api/v1/me", token: alice, json: ["password": "nope nope"])
            #expect(refused.status == .forbidden && refused.errorCode == "reauthentication_required")
            let accepted = try await app.request(.delete, "/api/v1/me", token: alice, json: ["password": "correct horse"])
            #expect(accepted.status == .accepted)
            #expect(try await app.request(.get, "/api/v1/me", token: alice).status == .unauthorized)
            #expect(try await app.request(.get, "/api/v1/users/alice").status == .notFound)
            #expect(try await visibleAnywhere(app, id, token: bob).isEmpty)
            try await app.processJobs()
            app.clock.advance(by: .seconds(5))  // the account job waits for the purges, retrying
            try await app.processJobs()
            let accounts = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT handle FROM accounts").all().map { try $0.decode(column: "handle", as: String.self) }
            }
            #expect(accounts == ["bob"])
            // Alice's view of Bob's story went with her account.
            let views = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM views").first()!.decode(column: "n", as: Int.self)
            }
            #expect(views == 0)
            #expect(try await app.audit().isEmpty)
            // The handle is free again.
            #expect(try await app.request(.post, "/api/v1/accounts", json: ["handle": "alice", "password": "new password"]).status == .created)
        }
    }

    @Test(arguments: Backend.withStores)
    func noPlaintextMediaInTheDataDirectory(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            _ = try await app.postLive(alice, file: try await MediaFixtures.shared.video(seconds: 2))
            _ = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(format: "png"))
            // Any 64 bytes of real plaintext (the start and the middle of each rendition) found in any file
            // of the data directory would be media in the clear; random ciphertext cannot match them by chance.
            var samples: [Data] = []
            let stored = try await app.storedBlobs()
            for name in stored.keys {
                let parts = name.split(separator: "/")
                let rendition = try #require(Rendition(rawValue: String(parts[2])))
                let plain = try #require(try await app.services.media.decryptedData(
                    segmentID: String(parts[1]), rendition: rendition))
                samples += [plain.prefix(64), plain.dropFirst(plain.count / 2).prefix(64)]
            }
            for (name, data) in stored {
                #expect(data.starts(with: Array("EPH1".utf8)), "\(name) is not encrypted")
                for sample in samples { #expect(data.range(of: sample) == nil, "\(name) holds media in the clear") }
            }
            for file in app.dataFiles() where !file.hasPrefix("ephemera.sqlite") && !file.hasPrefix("media/") {
                let data = try Data(contentsOf: URL(fileURLWithPath: app.dataDirectory + "/" + file))
                for sample in samples { #expect(data.range(of: sample) == nil, "\(file) holds media in the clear") }
            }
            #expect(stored.count == 3 && samples.count == 6)
            // A flipped byte in a blob is refused, never served as something else.
            let video = try #require(stored.keys.first { $0.hasSuffix("video.mp4") })
            try await app.tamper(blob: video, at: 100)
            let id = video.split(separator: "/")[1]
            do {
                let response = try await app.request(.get, "/media/\(id)/video.mp4", token: alice, headers: [.range: "bytes=0-10"])
                #expect(response.body.readableBytes < 11)
            } catch {
                #expect("\(error)".contains("authentication"))  // the stream was aborted, nothing forged was sent
            }
        }
    }
}
