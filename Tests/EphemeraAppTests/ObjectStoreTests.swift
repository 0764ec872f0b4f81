import EphemeraApp
import EphemeraCore
import EphemeraMedia
import EphemeraObjectStore
import EphemeraTestSupport
import Foundation
import HTTPTypes
import NIOCore
import Testing

/// The S3 media store against a real S3 server (SeaweedFS, started by `script/s3`): multipart writes of
/// encrypted parts, the reaper of abandoned uploads, and outages of the server itself.
@Suite(.enabled(if: Backend.s3Available)) struct ObjectStoreTests {
    /// A blob bigger than one part goes up as a multipart upload, comes back identical (whole and by ranges
    /// across part and chunk boundaries), leaves no unfinished upload, and is removed with its segment.
    @Test func largeBlobsGoUpInEncryptedPartsAndReadBackByRange() async throws {
        let bucket = try await TestBucket.make()
        defer { Task { try? await bucket.remove() } }
        let directory = NSTemporaryDirectory() + "ephemera-s3-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keyring = try FileKeyring(directory: directory + "/keyring")
        let store = try S3MediaStore(client: bucket.client, keyring: keyring, scratchDirectory: directory + "/scratch")
        _ = try await keyring.createKey(for: "seg1")
        // 20 MiB of random bytes: three parts of about 8 MiB.
        var generator = SystemRandomNumberGenerator()
        let plain = Data((0..<(20 << 20)).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        let file = store.scratchPath("video.mp4")
        try plain.write(to: URL(fileURLWithPath: file))
        try await store.store(segmentID: "seg1", files: [.video: file])
        #expect(!FileManager.default.fileExists(atPath: file), "the plaintext is removed once stored")

        let objects = try await bucket.client.list(prefix: "media/seg1/").objects
        #expect(objects.map(\.key) == ["media/seg1/video.mp4"])
        let sealed = ChunkedCipher.Sealer(key: .init(size: .bits256), plaintextLength: Int64(plain.count)).sealedLength
        #expect(objects.first?.size == sealed)
        #expect(try await bucket.client.listMultipartUploads(prefix: "").isEmpty)

        let blob = try #require(try await store.open(segmentID: "seg1", rendition: .video))
        var whole = Data()
        try await blob.readAll { whole.append($0) }
        #expect(whole == plain)
        let part = Int64(128 * (64 * 1024))  // the plaintext in one part
        let count = Int64(plain.count)
        let ranges: [ClosedRange<Int64>] = [0...9, (part - 100)...(part + 100), (3 * 65_536 - 1)...(5 * 65_536 + 7),
                                            (count - 10)...(count - 1)]
        for range in ranges {
            var piece = Data()
            try await blob.read(range) { piece.append($0) }
            #expect(piece == plain[Int(range.lowerBound)...Int(range.upperBound)])
        }
        let removed = try await store.removeSegment("seg1")
        #expect(removed.map(\.name) == ["video.mp4"] && removed.first?.bytes == sealed)
        #expect(try await store.segmentIDs().isEmpty)
        #expect(try await store.removeSegment("seg1").isEmpty, "removing again is a no-op")
    }

    /// An unfinished multipart upload (what a node killed mid-write leaves) is aborted by the reaper once it is
    /// old enough, and a young one (a write still in flight elsewhere) is left alone.
    @Test func theReaperAbortsAbandonedMultipartUploads() async throws {
        let bucket = try await TestBucket.make()
        defer { Task { try? await bucket.remove() } }
        let directory = NSTemporaryDirectory() + "ephemera-s3-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try S3MediaStore(client: bucket.client, keyring: try FileKeyring(directory: directory + "/keyring"),
                                     scratchDirectory: directory + "/scratch")
        let uploadID = try await bucket.client.createMultipartUpload("media/crashed/video.mp4")
        _ = try await bucket.client.uploadPart("media/crashed/video.mp4", uploadID: uploadID, number: 1,
                                               ByteBuffer(repeating: 7, count: 5 << 20))
        #expect(try await bucket.client.listMultipartUploads(prefix: "").count == 1)
        let now = Instant(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        #expect(try await store.removeAbandonedWrites(startedBefore: now - .seconds(3600)) == 0)
        #expect(try await store.removeAbandonedWrites(startedBefore: now + .seconds(60)) == 1)
        #expect(try await bucket.client.listMultipartUploads(prefix: "").isEmpty)
        #expect(try await store.segmentIDs().isEmpty, "an aborted upload leaves no object")
    }

    /// The S3 server dies: a new post is refused with 503 `media_store_unavailable` leaving nothing behind; a post
    /// taken just before has its processing retried (the segment stays `processing`, nothing half-made is
    /// visible); a media read answers 503; a purge waits. When the server is back, the post goes live, the read
    /// works and the purge completes with an empty audit.
    @Test func anOutageOfTheStoreGivesCleanErrorsAndEverythingRecovers() async throws {
        let server = try await S3TestServer.start()
        let bucketName = "outage"
        do {
            try await server.client(bucket: bucketName).createBucket()
            try await outage(server, bucketName)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    func outage(_ server: S3TestServer, _ bucketName: String) async throws {
        try await TestApp.run(.sqlite, configure: {
            $0.mediaStore = .s3
            $0.s3 = server.settings(bucket: bucketName)
        }) { app in
            let alice = try await app.signUp("alice")
            let clip = try await MediaFixtures.shared.video(seconds: 2)
            let live = try await app.postLive(alice, file: clip)[0]
            let before = try await app.request(.get, "/media/\(live)/video.mp4", token: alice)
            #expect(before.status == .ok)
            // Taken (and stored in the shared inbox) just before the outage, processed during it.
            let taken = try await app.post(alice, file: clip)
            #expect(taken.status == .created)
            let pending = try #require(try taken.decode(API.Posted.self).segments.first?.id)
            let keysBefore = Set(try await app.services.keyring.keyIDs())

            #expect(try await app.request(.get, "/readyz").decode(API.Readiness.self).mediaStore == "ok")
            try await server.kill()
            // A load balancer asking /readyz learns that this node cannot serve media now.
            let unready = try await app.request(.get, "/readyz")
            #expect(unready.status == .serviceUnavailable)
            #expect(try unready.decode(API.Readiness.self) == API.Readiness(status: "unavailable", database: "ok", mediaStore: "unreachable"))
            // Reading: a clear 503 in the API's error shape, not a 500.
            let read = try await app.request(.get, "/media/\(live)/video.mp4", token: alice)
            #expect(read.status == .serviceUnavailable && read.error?.code == "media_store_unavailable")
            #expect(read.headers[.retryAfter] != nil)
            // Posting: refused with a clear 503, and nothing half-made: no segment, no key, no file left.
            let refused = try await app.post(alice, file: clip)
            #expect(refused.status == .serviceUnavailable && refused.error?.code == "media_store_unavailable")
            #expect(Set(try await app.services.keyring.keyIDs()) == keysBefore)
            #expect(try FileManager.default.contentsOfDirectory(atPath: app.services.mediaStore.incomingDirectory).count == 1)
            let mine = try await app.request(.get, "/api/v1/users/alice/story", token: alice).decode(API.Story.self)
            #expect(mine.segments.count == 1)
            // Processing cannot store its renditions: retried, and nothing half-made is visible.
            try await app.processJobs()
            let during = try await app.request(.get, "/api/v1/stories/\(pending)", token: alice).decode(API.Segment.self)
            #expect(during.state == "processing")
            #expect(try await app.request(.get, "/media/\(pending)/video.mp4", token: alice).status == .notFound)
            // Deleting permanently: the purge cannot remove the objects yet, so it waits (the key is already gone).
            let deleted = try await app.request(.delete, "/api/v1/stories/\(live)?permanent=true", token: alice)
            #expect(deleted.status == .accepted)
            try await app.processJobs()

            try await server.restart(bucket: bucketName)
            #expect(try await app.request(.get, "/readyz").status == .ok)
            app.clock.advance(by: .seconds(600))
            try await app.processJobs()
            let after = try await app.request(.get, "/api/v1/stories/\(pending)", token: alice).decode(API.Segment.self)
            #expect(after.state == "live")
            let media = try await app.request(.get, "/media/\(pending)/video.mp4", token: alice)
            #expect(media.status == .ok && media.body.readableBytes > 0)
            #expect(try await app.request(.get, "/api/v1/stories/\(live)/deletion-receipt", token: alice).status == .ok)
            #expect(!(try await app.storedBlobs()).keys.contains { $0.contains(live) })
        }
    }
}

/// Several nodes on one database and one bucket: an upload received by one node is processed by another.
@Suite(.enabled(if: Backend.s3Available)) struct SharedInboxTests {
    @Test(arguments: Backend.withStores.filter { $0.media == .s3 })
    func anUploadReceivedByOneNodeIsProcessedByAnother(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let posted = try await app.post(alice, file: try await MediaFixtures.shared.video(seconds: 2))
            let id = try #require(try posted.decode(API.Posted.self).segments.first?.id)
            // The file waits in the bucket, encrypted, under a key of its own.
            let waiting = try await app.services.uploadInbox.incomingNames()
            #expect(waiting.count == 1)
            let stored = try #require(try await app.storedObjects(prefix: "incoming/").values.first)
            #expect(stored.starts(with: Array("EPH1".utf8)))

            // Node B: the same database, keyring and bucket, a scratch folder of its own (it never saw the file).
            var other = app.services.configuration
            other.scratchDirectory = app.dataDirectory + "-scratch-b"
            defer { try? FileManager.default.removeItem(atPath: app.dataDirectory + "-scratch-b") }
            let nodeB = try await AppServices.open(configuration: other, clock: app.clock, logger: TestDatabase.quietLogger)
            try await nodeB.worker.drain()
            let segment = try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self)
            #expect(segment.state == "live")
            #expect(try await app.services.uploadInbox.incomingNames().isEmpty, "processed: gone from the bucket")
            #expect(!(try await app.services.keyring.keyIDs()).contains { $0.hasPrefix("inbox-") }, "and its key destroyed")
            // Node A still holds the plaintext it received; its sweeper removes it once unclaimed for long enough.
            #expect(try FileManager.default.contentsOfDirectory(atPath: app.services.mediaStore.incomingDirectory).count == 1)
            let later = Instant(Date()) + .seconds(7200)
            #expect(try await app.services.uploadInbox.removeUnclaimedLocalCopies(
                keeping: try await app.services.segments.uploadSourceFiles(), receivedBefore: later) == 1)
            #expect(try FileManager.default.contentsOfDirectory(atPath: app.services.mediaStore.incomingDirectory).isEmpty)
            await nodeB.shutdown()
        }
    }
}
