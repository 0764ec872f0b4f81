import EphemeraCore
import EphemeraTestSupport
import Foundation
import HTTPTypes
import Testing

@Suite struct MediaServingTests {
    @Test(arguments: Backend.withStores)
    func rangesETagsAndCacheHeaders(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let clip = try await MediaFixtures.shared.video(seconds: 2)
            let publicID = try await app.postLive(alice, file: clip, fields: ["audience": "public"])[0]
            let privateID = try await app.postLive(alice, file: clip, fields: ["audience": "followers"])[0]
            let onDisk = try #require(try await app.services.media.decryptedData(segmentID: publicID, rendition: .video))
            #expect(onDisk.count > 3 * 64 * 1024, "the range checks below must cross chunk boundaries")

            let whole = try await app.request(.get, "/media/\(publicID)/video.mp4")
            #expect(whole.status == .ok)
            #expect(Data(buffer: whole.body) == onDisk)
            #expect(whole.headers[.contentType] == "video/mp4")
            #expect(whole.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(whole.headers[.contentLength] == String(onDisk.count))
            #expect(whole.headers[.cacheControl]?.hasPrefix("public") == true)
            let etag = try #require(whole.headers[.eTag])

            let partial = try await app.request(.get, "/media/\(publicID)/video.mp4", headers: [.range: "bytes=100-1099"])
            #expect(partial.status == .partialContent)
            #expect(partial.headers[.contentRange] == "bytes 100-1099/\(onDisk.count)")
            #expect(Data(buffer: partial.body) == onDisk[100..<1100])
            // A range across two chunk boundaries of the encrypted blob.
            let from = 64 * 1024 - 10, to = 2 * 64 * 1024 + 10
            let spanning = try await app.request(.get, "/media/\(publicID)/video.mp4", headers: [.range: "bytes=\(from)-\(to)"])
            #expect(Data(buffer: spanning.body) == onDisk[from...to])
            let tail = try await app.request(.get, "/media/\(publicID)/video.mp4", headers: [.range: "bytes=-500"])
            #expect(Data(buffer: tail.body) == onDisk.suffix(500))
            let unsatisfiable = try await app.request(.get, "/media/\(publicID)/video.mp4", headers: [.range: "bytes=\(onDisk.count + 10)-"])
            #expect(unsatisfiable.status == .rangeNotSatisfiable)
            #expect(unsatisfiable.headers[.contentRange] == "bytes */\(onDisk.count)")

            let notModified = try await app.request(.get, "/media/\(publicID)/video.mp4", headers: [.ifNoneMatch: etag])
            #expect(notModified.status == .notModified && notModified.body.readableBytes == 0)

            let poster = try await app.request(.get, "/media/\(publicID)/poster.jpg")
            #expect(poster.status == .ok && poster.headers[.contentType] == "image/jpeg")
            #expect(try await app.request(.get, "/media/\(publicID)/photo.jpg").status == .notFound)
            #expect(try await app.request(.get, "/media/\(publicID)/original").status == .notFound)

            let own = try await app.request(.get, "/media/\(privateID)/video.mp4", token: alice)
            #expect(own.status == .ok && own.headers[.cacheControl]?.hasPrefix("private") == true)
            let hidden = try await app.request(.get, "/media/\(privateID)/video.mp4")
            #expect(hidden.status == .notFound && hidden.errorCode == "media_not_found")
        }
    }
}
