import Crypto
import EphemeraApp
import EphemeraCore
import EphemeraObjectStore
import EphemeraTestSupport
import EphemeraUseCases
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The tus 1.0.0 protocol at /api/v1/uploads, driven request by request.
extension TestApp {
    func tus(_ method: HTTPRequest.Method, _ path: String, token: String?, headers: [String: String] = [:],
             body: Data? = nil) async throws -> TestResponse {
        var fields = HTTPFields()
        fields[HTTPField.Name("Tus-Resumable")!] = "1.0.0"
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        if body != nil { fields[.contentType] = "application/offset+octet-stream" }
        return try await request(method, path, token: token, body: body.map { ByteBuffer(data: $0) }, headers: fields)
    }

    /// Creates an upload of `length` bytes with `metadata`; returns its path.
    func createUpload(_ token: String, length: Int, metadata: [String: String] = [:]) async throws -> String {
        let encoded = metadata.sorted { $0.key < $1.key }
            .map { "\($0.key) \(Data($0.value.utf8).base64EncodedString())" }.joined(separator: ",")
        let response = try await tus(.post, "/api/v1/uploads", token: token,
                                     headers: ["Upload-Length": String(length), "Upload-Metadata": encoded])
        guard response.status == .created, let location = response.headers[.location] else {
            throw TestFailure("creating an upload failed: \(response.status) \(response.text)")
        }
        return String(location.dropFirst("http://stories.test".count))
    }
}

func header(_ response: TestResponse, _ name: String) -> String? { response.headers[HTTPField.Name(name)!] }

@Suite struct ResumableUploadTests {
    @Test(arguments: Backend.withStores)
    func optionsAdvertisesTheVersionExtensionsAndChecksums(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let response = try await app.request(.options, "/api/v1/uploads")
            #expect(response.status == .noContent)
            #expect(header(response, "Tus-Version") == "1.0.0" && header(response, "Tus-Resumable") == "1.0.0")
            #expect(header(response, "Tus-Extension") == "creation,creation-with-upload,termination,expiration,checksum")
            #expect(header(response, "Tus-Checksum-Algorithm") == "sha1,sha256")
            #expect(header(response, "Tus-Max-Size") == String(app.services.configuration.maxUploadBytes))
        }
    }

    @Test(arguments: Backend.withStores)
    func anUploadInChunksWithChecksumsBecomesAPost(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let file = try Data(contentsOf: URL(fileURLWithPath: try await MediaFixtures.shared.video(seconds: 2)))
            let path = try await app.createUpload(alice, length: file.count, metadata: [
                "filename": "clip.mp4", "caption": "Sent in pieces", "audience": "public", "filter": "mono"])

            let head = try await app.tus(.head, path, token: alice)
            #expect(head.status == .ok && header(head, "Upload-Offset") == "0")
            #expect(header(head, "Upload-Length") == String(file.count))
            #expect(head.headers[.cacheControl] == "no-store" && header(head, "Upload-Expires")?.hasSuffix("GMT") == true)

            let third = file.count / 3
            let pieces = [file.prefix(third), file.dropFirst(third).prefix(third), file.dropFirst(2 * third)]
            var offset = 0
            for (index, piece) in pieces.enumerated() {
                let digest = Data(SHA256.hash(data: piece)).base64EncodedString()
                if index == 1 {
                    // A wrong offset is a conflict; a wrong checksum keeps nothing.
                    let wrong = try await app.tus(.patch, path, token: alice, headers: ["Upload-Offset": "0"], body: Data(piece))
                    #expect(wrong.status == .conflict && wrong.errorCode == "upload_offset_mismatch")
                    let bad = try await app.tus(.patch, path, token: alice, headers: [
                        "Upload-Offset": String(offset), "Upload-Checksum": "sha256 \(Data(SHA256.hash(data: Data("x".utf8))).base64EncodedString())",
                    ], body: Data(piece))
                    #expect(bad.status.code == 460 && bad.errorCode == "checksum_mismatch")
                    #expect(header(try await app.tus(.head, path, token: alice), "Upload-Offset") == String(offset))
                }
                let response = try await app.tus(.patch, path, token: alice, headers: [
                    "Upload-Offset": String(offset), "Upload-Checksum": "sha256 \(digest)"], body: Data(piece))
                #expect(response.status == .noContent, "\(response.text)")
                offset += piece.count
                #expect(header(response, "Upload-Offset") == String(offset))
                if index < 2 { #expect(header(response, "Ephemera-Segments") == nil) }
                if index == 2 {
                    let ids = try #require(header(response, "Ephemera-Segments")).split(separator: ",").map(String.init)
                    #expect(ids.count == 1)
                    // The spool is gone as soon as the post exists; GET tells the segments.
                    #expect(try await app.services.spool.spoolIDs().isEmpty)
                    let status = try await app.request(.get, path, token: alice).decode(API.UploadStatus.self)
                    #expect(status.complete && status.offset == Int64(file.count) && status.failure == nil)
                    #expect(status.segments.map(\.id) == ids)
                    try await app.processJobs()
                    let segment = try await app.request(.get, "/api/v1/stories/\(ids[0])", token: alice)
                        .decode(API.Segment.self)
                    #expect(segment.state == "live" && segment.caption == "Sent in pieces" && segment.audience == "public")
                    // A retried last PATCH answers the same, and makes no second post.
                    let again = try await app.tus(.patch, path, token: alice, headers: ["Upload-Offset": String(offset)],
                                                  body: Data())
                    #expect(again.status == .noContent && header(again, "Ephemera-Segments") == ids.joined(separator: ","))
                }
            }
            let story = try await app.request(.get, "/api/v1/users/alice/story", token: alice).decode(API.Story.self)
            #expect(story.segments.count == 1)
        }
    }

    @Test(arguments: Backend.withStores)
    func bytesAreEncryptedAtRestAndUploadsBelongToTheirCreator(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let marker = Data(String(repeating: "PLAINTEXT-MARKER ", count: 4000).utf8)
            let path = try await app.createUpload(alice, length: marker.count * 2)
            let sent = try await app.tus(.patch, path, token: alice, headers: ["Upload-Offset": "0", "Upload-Checksum":
                "sha1 \(Data(Insecure.SHA1.hash(data: marker)).base64EncodedString())"], body: marker)
            #expect(sent.status == .noContent && header(sent, "Upload-Offset") == String(marker.count))
            let id = String(path.split(separator: "/").last!)
            let stored = try await app.storedSpool(id)
            #expect(stored.count > marker.count && stored.range(of: Data("PLAINTEXT-MARKER".utf8)) == nil)

            for method in [HTTPRequest.Method.head, .patch, .delete] {
                let response = try await app.tus(method, path, token: bob, headers: ["Upload-Offset": String(marker.count)],
                                                 body: method == .patch ? marker : nil)
                #expect(response.status == .notFound, "\(method)")
            }
            #expect(try await app.request(.get, path, token: bob).status == .notFound)
            #expect(try await app.tus(.head, path, token: nil).status == .unauthorized)

            // Termination removes the bytes and the key.
            #expect(try await app.tus(.delete, path, token: alice).status == .noContent)
            #expect(try await app.tus(.head, path, token: alice).status == .notFound)
            let spools = try await app.services.spool.spoolIDs()
            #expect(try await app.storedSpool(id).isEmpty && !spools.contains(id))
            #expect(try await app.services.keyring.key(for: "upload-" + id) == nil)
        }
    }

    @Test(arguments: Backend.withStores)
    func badRequestsAreRefusedWithTheRightStatus(backend: Backend) async throws {
        try await TestApp.run(backend, configure: { $0.mediaLimits.maxVideoBytes = 1_000_000 }) { app in
            let alice = try await app.signUp("alice")
            var plain = HTTPFields()
            plain[HTTPField.Name("Upload-Length")!] = "10"
            let unversioned = try await app.request(.post, "/api/v1/uploads", token: alice, headers: plain)
            #expect(unversioned.status == .preconditionFailed && unversioned.errorCode == "tus_version_unsupported")
            let huge = try await app.tus(.post, "/api/v1/uploads", token: alice, headers: ["Upload-Length": "1000001"])
            #expect(huge.status == .contentTooLarge && huge.errorCode == "upload_too_large")
            let noLength = try await app.tus(.post, "/api/v1/uploads", token: alice)
            #expect(noLength.status == .badRequest && noLength.errorCode == "upload_length_missing")
            let badFilter = try await app.tus(.post, "/api/v1/uploads", token: alice, headers: [
                "Upload-Length": "10", "Upload-Metadata": "filter \(Data("bogus".utf8).base64EncodedString())"])
            #expect(badFilter.status == .badRequest && badFilter.errorMessage?.contains("filter") == true)
            let notBase64 = try await app.tus(.post, "/api/v1/uploads", token: alice, headers: [
                "Upload-Length": "10", "Upload-Metadata": "caption !!!"])
            #expect(notBase64.errorCode == "invalid_upload_metadata")
            // A lifetime or a time to go live that will be refused is refused now, before any byte is sent.
            for (field, value, code) in [("lifetime", "3d", "invalid_lifetime"), ("publishAt", "2020-01-01T00:00:00Z", "publish_at_in_past"),
                                         ("kind", "text", "media_with_text_story")] {
                let refused = try await app.tus(.post, "/api/v1/uploads", token: alice, headers: [
                    "Upload-Length": "10", "Upload-Metadata": "\(field) \(Data(value.utf8).base64EncodedString())"])
                #expect(refused.status == .badRequest && refused.errorCode == code, "\(refused.text)")
            }
            #expect(try await app.tus(.post, "/api/v1/uploads", token: nil, headers: ["Upload-Length": "10"]).status
                == .unauthorized)

            let path = try await app.createUpload(alice, length: 10)
            let tooMany = try await app.tus(.patch, path, token: alice, headers: ["Upload-Offset": "0"],
                                            body: Data(repeating: 1, count: 11))
            #expect(tooMany.status == .contentTooLarge && tooMany.errorCode == "upload_length_exceeded")
            var wrongType = HTTPFields()
            wrongType[HTTPField.Name("Tus-Resumable")!] = "1.0.0"
            wrongType[HTTPField.Name("Upload-Offset")!] = "0"
            wrongType[.contentType] = "application/json"
            let json = try await app.request(.patch, path, token: alice, body: ByteBuffer(string: "{}"), headers: wrongType)
            #expect(json.status == .unsupportedMediaType)
            let md5 = try await app.tus(.patch, path, token: alice, headers: ["Upload-Offset": "0",
                                        "Upload-Checksum": "md5 AAAA"], body: Data(repeating: 1, count: 5))
            #expect(md5.status == .badRequest && md5.errorCode == "checksum_algorithm_unsupported")
            #expect(header(try await app.tus(.head, path, token: alice), "Upload-Offset") == "0")

            // Content refused at completion is said on the last PATCH and on GET, and the bytes are dropped.
            let notes = try Data(contentsOf: URL(fileURLWithPath: try await MediaFixtures.shared.textRenamedMP4()))
            let textPath = try await app.createUpload(alice, length: notes.count, metadata: ["filename": "notes.mp4"])
            let refused = try await app.tus(.patch, textPath, token: alice, headers: ["Upload-Offset": "0"], body: notes)
            #expect(refused.status == .unsupportedMediaType && refused.errorCode == "unsupported_media")
            let status = try await app.request(.get, textPath, token: alice).decode(API.UploadStatus.self)
            #expect(status.failure?.code == "unsupported_media" && !status.complete && status.segments.isEmpty)
            let textID = String(textPath.split(separator: "/").last!)
            let spools = try await app.services.spool.spoolIDs()
            #expect(!spools.contains(textID))
            #expect(try await app.services.keyring.key(for: "upload-" + textID) == nil)
            #expect(try await app.tus(.delete, path, token: alice).status == .noContent)
        }
    }

    @Test(arguments: Backend.withStores)
    func creationWithUploadAndExpiryAfterADay(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let photo = try Data(contentsOf: URL(fileURLWithPath: try await MediaFixtures.shared.photo()))
            // creation-with-upload: the first half rides on the POST.
            var headers = HTTPFields()
            headers[HTTPField.Name("Tus-Resumable")!] = "1.0.0"
            headers[HTTPField.Name("Upload-Length")!] = String(photo.count)
            headers[.contentType] = "application/offset+octet-stream"
            let created = try await app.request(.post, "/api/v1/uploads", token: alice,
                                                body: ByteBuffer(data: photo.prefix(photo.count / 2)), headers: headers)
            #expect(created.status == .created && header(created, "Upload-Offset") == String(photo.count / 2))
            let path = String(try #require(created.headers[.location]).dropFirst("http://stories.test".count))

            // Left unfinished for a day, it expires: 410, then the sweeper removes row, spool and key.
            app.clock.advance(by: .seconds(24 * 3600))
            let expired = try await app.tus(.head, path, token: alice)
            #expect(expired.status == .gone && expired.errorCode == "upload_expired")
            try await app.services.sweeper.sweep()
            #expect(try await app.services.spool.spoolIDs().isEmpty)
            #expect(try await app.tus(.head, path, token: alice).status == .notFound)
            #expect(try await app.services.resumableUploads.allIDs().isEmpty)
        }
    }

    @Test(arguments: Backend.withStores)
    func deletingTheAccountRemovesItsUploads(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let path = try await app.createUpload(alice, length: 100)
            #expect(try await app.tus(.patch, path, token: alice, headers: ["Upload-Offset": "0"],
                                      body: Data(repeating: 7, count: 40)).status == .noContent)
            #expect(try await app.services.spool.spoolIDs().count == 1)
            #expect(try await app.request(.delete, "/api/v1/me", token: alice, json: ["password": "correct horse"]).status
                == .accepted)
            try await app.processJobs()
            #expect(try await app.services.spool.spoolIDs().isEmpty)
            #expect(try await app.services.resumableUploads.allIDs().isEmpty)
        }
    }
}

/// On the object store a spool is shared: an upload begun through one node continues through another.
@Suite(.enabled(if: Backend.s3Available)) struct SharedSpoolTests {
    static func body(_ data: Data) -> AsyncStream<ByteBuffer> {
        AsyncStream { continuation in
            continuation.yield(ByteBuffer(data: data))
            continuation.finish()
        }
    }

    @Test(arguments: Backend.withStores.filter { $0.media == .s3 })
    func anUploadBegunThroughOneNodeIsFinishedThroughAnother(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let file = try Data(contentsOf: URL(fileURLWithPath: try await MediaFixtures.shared.video(seconds: 2)))
            let path = try await app.createUpload(alice, length: file.count, metadata: ["caption": "Two nodes"])
            let half = file.count / 2
            #expect(try await app.tus(.patch, path, token: alice, headers: ["Upload-Offset": "0"],
                                      body: file.prefix(half)).status == .noContent)
            let id = String(path.split(separator: "/").last!)
            #expect(!(try await app.storedObjects(prefix: "spools/\(id)/")).isEmpty, "the first half is in the bucket")

            // Node B shares the database, the keys and the bucket, and nothing else: a data folder of its own.
            var other = app.services.configuration
            other.databaseURL = other.resolvedDatabaseURL
            other.keyringDirectory = other.resolvedKeyringDirectory
            other.dataDirectory = app.dataDirectory + "-node-b"
            other.scratchDirectory = nil
            defer { try? FileManager.default.removeItem(atPath: app.dataDirectory + "-node-b") }
            let nodeB = try await AppServices.open(configuration: other, clock: app.clock, logger: TestDatabase.quietLogger)
            let account = try #require(try await nodeB.accounts.account(handle: "alice"))
            let upload = try await nodeB.resumableUploading.upload(id, of: account)
            #expect(upload.offset == Int64(half))
            // A write that never committed (a node killed between storing a part and recording it) left a part
            // at the same place; it is never read, and goes with the spool.
            let stale = String(format: "spools/%@/%016lld-deadbeefdeadbeef", id, upload.storedBytes)
            try await #require(app.s3Client).putObject(stale, ByteBuffer(repeating: 0xEE, count: 4096))
            let finished = try await nodeB.resumableUploading.append(
                to: upload, by: account, at: Int64(half), declaredLength: nil, checksum: nil,
                body: Self.body(file.dropFirst(half)))
            #expect(finished.postID != nil)
            let segments = try await nodeB.resumableUploading.segments(of: finished)
            #expect(segments.count == 1)
            #expect(try await app.storedObjects(prefix: "spools/").isEmpty, "the spool went with the post")
            try await nodeB.worker.drain()
            await nodeB.shutdown()

            let segment = try await app.request(.get, "/api/v1/stories/\(segments[0].id)", token: alice)
                .decode(API.Segment.self)
            #expect(segment.state == "live" && segment.caption == "Two nodes")
            let status = try await app.request(.get, path, token: alice).decode(API.UploadStatus.self)
            #expect(status.complete && status.segments.map(\.id) == segments.map(\.id))
        }
    }

    /// The port itself, with small parts: a request's bytes go up part by part, only committed parts are read
    /// back, a discarded write leaves nothing, and removal takes every part and the key.
    @Test(arguments: Backend.withStores.filter { $0.media == .s3 })
    func spoolPartsCommitInOrderAndDiscardedOnesVanish(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let spool = S3UploadSpool(client: try #require(app.s3Client), keyring: app.services.keyring, partSize: 100_000)
            let id = "spooltest"
            try await spool.create(id)
            let bytes = Data((0..<700_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            let first = try await spool.writer(id, committed: .empty)
            // Bytes arrive as a request's buffers do, a piece at a time.
            for start in stride(from: 0, to: 450_000, by: 50_000) {
                bytes[start..<(start + 50_000)].withUnsafeBytes { first.append($0) }
                try await first.flush()
            }
            try await first.sync()
            #expect(first.committed.offset == 450_000 && first.committed.parts.count >= 3)
            #expect(first.committed.storedBytes == Int64(try await app.storedSpool(id).count))

            // A write that is discarded (a failed checksum) leaves no part behind.
            let refused = try await spool.writer(id, committed: first.committed)
            Data(repeating: 0xEE, count: 250_000).withUnsafeBytes { refused.append($0) }
            try await refused.flush()
            await refused.discard()
            #expect(first.committed.storedBytes == Int64(try await app.storedSpool(id).count))

            let second = try await spool.writer(id, committed: first.committed)
            bytes.dropFirst(450_000).withUnsafeBytes { second.append($0) }
            try await second.sync()
            let destination = app.dataDirectory + "/assembled"
            try await spool.assemble(id, committed: second.committed, to: destination)
            #expect(try Data(contentsOf: URL(fileURLWithPath: destination)) == bytes)
            // Positions that do not match the parts are refused, never read as something else.
            var wrong = second.committed
            wrong.parts.removeFirst()
            await #expect(throws: (any Error).self) { try await spool.assemble(id, committed: wrong, to: destination) }

            #expect(try await spool.spoolIDs() == [id])
            try await spool.remove(id)
            #expect(try await spool.spoolIDs().isEmpty)
            #expect(try await app.services.keyring.key(for: "upload-" + id) == nil)
        }
    }
}
