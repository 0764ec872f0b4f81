import EphemeraCore
import EphemeraTestSupport
import Foundation
import HTTPTypes
import NIOCore
import Testing

@Suite struct PostingTests {
    @Test(arguments: Backend.withStores)
    func videoIsProcessedThenLiveWithRenditions(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let clip = try await MediaFixtures.shared.video(seconds: 3, width: 640, height: 360)
            let response = try await app.post(alice, file: clip, fields: ["caption": "hello", "audience": "public"])
            #expect(response.status == .created)
            let segment = try #require(try response.decode(API.Posted.self).segments.first)
            #expect(segment.state == "processing")
            let id = segment.id
            // Not visible to anyone else while processing.
            #expect(try await app.request(.get, "/api/v1/stories/\(id)").status == .notFound)

            try await app.processJobs()
            let fetched = try await app.request(.get, "/api/v1/stories/\(id)")
            let live = try fetched.decode(API.Segment.self)
            #expect(live.state == "live" && live.kind == "video" && live.caption == "hello")
            #expect(abs(live.durationSeconds - 3) < 0.2)
            #expect(live.media.video == "http://stories.test/media/\(id)/video.mp4")
            #expect(live.media.poster == "http://stories.test/media/\(id)/poster.jpg")
            // Counts of views are the author's alone: present, and null for anyone else.
            #expect(live.counts.views == nil)
            // …and null, not absent (the contract's shape for "not yours to know").
            #expect(fetched.text.contains(#""views":null"#))

            let video = try await probeJSON(try await app.plaintext(id, .video))
            let streams = try #require(video["streams"] as? [[String: Any]])
            #expect(streams.contains { $0["codec_name"] as? String == "h264" && $0["pix_fmt"] as? String == "yuv420p" })
            #expect(streams.contains { $0["codec_name"] as? String == "aac" })
            #expect(try await app.services.media.decryptedData(segmentID: id, rendition: .poster)?.starts(with: [0xFF, 0xD8]) == true)
            // The upload itself is gone once processed.
            #expect(try FileManager.default.contentsOfDirectory(atPath: app.services.mediaStore.incomingDirectory).isEmpty)
        }
    }

    @Test(arguments: Backend.withStores)
    func metadataIsStrippedAndLargeVideosAreScaledIntoTheFrame(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let clip = try await MediaFixtures.shared.video(
                seconds: 2, width: 1440, height: 2560, codec: "mpeg4",
                metadata: ["location": "+37.7749-122.4194/", "comment": "secret comment", "title": "my home"])
            let ids = try await app.postLive(alice, file: clip)
            let id = try #require(ids.first)
            let path = try await app.plaintext(id, .video)
            let probe = try await probeJSON(path)
            let tags = ((probe["format"] as? [String: Any])?["tags"] as? [String: Any]) ?? [:]
            #expect(tags["location"] == nil && tags["comment"] == nil && tags["title"] == nil)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(bytes.range(of: Data("secret comment".utf8)) == nil)
            #expect(bytes.range(of: Data("+37.7749".utf8)) == nil)
            let video = try #require((probe["streams"] as? [[String: Any]])?.first { $0["codec_type"] as? String == "video" })
            #expect(video["width"] as? Int == 1080 && video["height"] as? Int == 1920)
            #expect(video["codec_name"] as? String == "h264")
            let segment = try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self)
            #expect(segment.width == 1080)
        }
    }

    @Test(arguments: Backend.withStores)
    func photosBecomeJPEGsWithoutMetadata(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            for format in ["png", "jpg", "webp"] {
                let photo = try await MediaFixtures.shared.photo(format: format, width: 2000, height: 1500)
                let ids = try await app.postLive(alice, file: photo)
                let id = try #require(ids.first)
                let segment = try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self)
                #expect(segment.kind == "photo" && segment.state == "live", "\(format)")
                #expect(segment.durationSeconds == 5)
                #expect(segment.media.photo != nil && segment.media.video == nil)
                let probe = try await probeJSON(try await app.plaintext(id, .photo))
                let stream = try #require((probe["streams"] as? [[String: Any]])?.first)
                #expect(stream["codec_name"] as? String == "mjpeg")
                #expect(stream["width"] as? Int == 1080 && stream["height"] as? Int == 810)
            }
        }
    }

    @Test(arguments: Backend.withStores)
    func aRecordingWhoseHeaderHasNoDurationIsMeasuredAndPosted(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let recording = try await MediaFixtures.shared.recordedWebM(seconds: 2)
            let formatDuration = (try await probeJSON(recording)["format"] as? [String: Any])?["duration"]
            #expect(formatDuration == nil, "the fixture must lack a duration, as MediaRecorder's output does")
            let id = try #require(try await app.postLive(alice, file: recording).first)
            let segment = try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self)
            #expect(segment.state == "live")
            #expect(abs(segment.durationSeconds - 2) < 0.2)
        }
    }

    @Test(arguments: Backend.withStores)
    func webmAndSilentVideosBecomeH264WithAnAACTrack(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let webm = try await MediaFixtures.shared.video(seconds: 2, width: 480, height: 270, codec: "libvpx-vp9", container: "webm")
            let silent = try await MediaFixtures.shared.video(seconds: 2, width: 480, height: 270, audio: false)
            for clip in [webm, silent] {
                let id = try #require(try await app.postLive(alice, file: clip).first)
                let probe = try await probeJSON(try await app.plaintext(id, .video))
                let codecs = Set((probe["streams"] as? [[String: Any]] ?? []).compactMap { $0["codec_name"] as? String })
                #expect(codecs == ["h264", "aac"], "\(clip)")
                let format = (probe["format"] as? [String: Any])?["format_name"] as? String
                #expect(format?.contains("mp4") == true)
            }
        }
    }

    @Test(arguments: Backend.withStores)
    func phonePhotosAreTurnedUprightAndLoseTheirEXIF(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let photo = try await MediaFixtures.shared.jpegWithEXIF(secret: "Secret Garden 51.5007N")
            #expect(try Data(contentsOf: URL(fileURLWithPath: photo)).range(of: Data("Secret Garden".utf8)) != nil)
            let id = try #require(try await app.postLive(alice, file: photo).first)
            let stored = try #require(try await app.services.media.decryptedData(segmentID: id, rendition: .photo))
            #expect(stored.range(of: Data("Secret Garden".utf8)) == nil)
            #expect(stored.range(of: Data("Exif".utf8)) == nil)
            let segment = try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self)
            #expect(segment.width == 200 && segment.height == 400)
        }
    }

    @Test(arguments: Backend.withStores)
    func longVideoIsRefusedUnlessSplit(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let long = try await MediaFixtures.shared.video(seconds: 32, width: 320, height: 240)
            let refused = try await app.post(alice, file: long)
            #expect(refused.status == .unprocessableContent)
            #expect(refused.errorCode == "story_too_long")
            #expect(refused.errorMessage?.hasPrefix("Video is 32 s; a story segment may be at most 15 s.") == true)

            let ids = try await app.postLive(alice, file: long, fields: ["split": "true", "audience": "public"])
            #expect(ids.count == 3)
            let story = try await app.request(.get, "/api/v1/users/alice/story").decode(API.Story.self)
            #expect(story.segments.map(\.id) == ids)
            let durations = story.segments.map(\.durationSeconds)
            #expect(durations.count == 3 && durations.allSatisfy { $0 <= 15.1 })
            #expect(abs(durations.reduce(0, +) - 32) < 0.5)
        }
    }

    @Test(arguments: Backend.withStores)
    func trimKeepsOnlyTheChosenPart(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let long = try await MediaFixtures.shared.video(seconds: 20, width: 320, height: 240)
            let ids = try await app.postLive(alice, file: long, fields: ["trimStart": "4", "trimEnd": "10.5"])
            let segment = try await app.request(.get, "/api/v1/stories/\(ids[0])", token: alice).decode(API.Segment.self)
            #expect(abs(segment.durationSeconds - 6.5) < 0.2)
            let bad = try await app.post(alice, file: long, fields: ["trimStart": "12", "trimEnd": "3"])
            #expect(bad.status == .badRequest && bad.errorCode == "invalid_trim")
            let nonsense = try await app.post(alice, file: long, fields: ["trimStart": "soon"])
            #expect(nonsense.status == .badRequest && nonsense.errorCode == "invalid_trim")
        }
    }

    /// Every kind of bad upload gets the error shape, a useful message, and leaves nothing on disk.
    @Test(arguments: Backend.withStores)
    func badUploadsAreRefusedAndLeaveNothingBehind(backend: Backend) async throws {
        try await TestApp.run(backend, configure: { $0.mediaLimits.maxVideoBytes = 2_000_000 }) { app in
            let alice = try await app.signUp("alice")
            let empty = NSTemporaryDirectory() + "empty-\(UUID().uuidString).mp4"
            FileManager.default.createFile(atPath: empty, contents: Data())
            defer { try? FileManager.default.removeItem(atPath: empty) }
            let cases: [(String?, [String: String], HTTPResponse.Status, String)] = [
                (nil, ["caption": "no file"], .badRequest, "media_missing"),
                (empty, [:], .badRequest, "empty_media"),
                (try await MediaFixtures.shared.textRenamedMP4(), [:], .unsupportedMediaType, "unsupported_media"),
                (try await MediaFixtures.shared.truncatedMP4(), [:], .unprocessableContent, "undecodable_media"),
                (try await MediaFixtures.shared.audioOnly(), [:], .unsupportedMediaType, "no_video_stream"),
                (try await MediaFixtures.shared.decompressionBombPNG(), [:], .unprocessableContent, "media_dimensions_too_large"),
                (try await MediaFixtures.shared.video(seconds: 1), ["audience": "everyone"], .badRequest, "invalid_audience"),
                (try await MediaFixtures.shared.video(seconds: 1), ["filter": "psychedelic"], .badRequest, "invalid_filter"),
                (try await MediaFixtures.shared.video(seconds: 1), ["textPosition": "left"], .badRequest, "invalid_text_position"),
                (try await MediaFixtures.shared.video(seconds: 1), ["split": "maybe"], .badRequest, "invalid_split"),
            ]
            for (file, fields, status, code) in cases {
                let response = try await app.post(alice, file: file, fields: fields)
                #expect(response.status == status, "\(code): \(response.text)")
                #expect(response.errorCode == code, "\(code): \(response.text)")
                #expect((response.errorMessage ?? "").count > 20, "\(code)")
            }
            // Over the byte limit: refused while streaming (a body with no Content-Length, in chunks).
            let big = try await MediaFixtures.shared.video(seconds: 20, width: 1280, height: 720, codec: "mpeg4")
            let tooBig = try await app.post(alice, file: big)
            #expect(tooBig.status == .contentTooLarge && tooBig.errorCode == "upload_too_large")

            let notMultipart = try await app.request(.post, "/api/v1/stories", token: alice, json: ["media": "x"])
            #expect(notMultipart.status == .badRequest && notMultipart.errorCode == "expected_multipart")
            // A body cut off before its closing boundary (a client that died mid-upload): refused, nothing kept.
            let clip = try Data(contentsOf: URL(fileURLWithPath: try await MediaFixtures.shared.video(seconds: 1)))
            var cut = ByteBuffer(string: "--cut0ff\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.mp4\"\r\n\r\n")
            cut.writeBytes(clip)
            let truncated = try await app.request(.post, "/api/v1/stories", token: alice, body: cut,
                                                  headers: [.contentType: "multipart/form-data; boundary=cut0ff"])
            #expect(truncated.status == .badRequest && truncated.errorCode == "malformed_multipart", "\(truncated.text)")
            let unauthenticated = try await app.post("", file: try await MediaFixtures.shared.video(seconds: 1))
            #expect(unauthenticated.status == .unauthorized)

            #expect(try FileManager.default.contentsOfDirectory(atPath: app.services.mediaStore.incomingDirectory).isEmpty)
            #expect(try await app.storedBlobs().isEmpty)
            let rows = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM segments").first()!.decode(column: "n", as: Int.self)
            }
            #expect(rows == 0)
        }
    }

    @Test(arguments: Backend.withStores)
    func processingFailureEndsFailedWithAReasonTheAuthorReads(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let clip = try await MediaFixtures.shared.video(seconds: 2)
            let response = try await app.post(alice, file: clip)
            let id = try #require(try response.decode(API.Posted.self).segments.first?.id)
            // The source vanishes before processing (a disk fault, a bucket emptied by hand): the segment fails.
            for name in try await app.services.uploadInbox.incomingNames() {
                try await app.services.uploadInbox.removeIncoming(name)
            }
            for _ in 0..<3 {
                try await app.processJobs()
                app.clock.advance(by: .seconds(60))
            }
            let segment = try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self)
            #expect(segment.state == "failed")
            #expect(segment.failureReason?.isEmpty == false && segment.failureReason?.contains("/") == false)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)").status == .notFound)
            #expect(try await app.services.jobs.pendingCount() == 0)
        }
    }
}

/// Found by the hostile corpus (issue 18): a video whose picture ends before its sound (0.24 s of frames in a
/// 1 s file) had its poster asked for past the last frame and failed; it now takes the first frame instead.
@Suite struct ShortPictureTests {
    @Test(arguments: Backend.all)
    func aPictureShorterThanItsSoundStillGetsAPoster(backend: Backend) async throws {
        let path = NSTemporaryDirectory() + "short-picture-\(UUID().uuidString).mkv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try ServerProcess.runTool("ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                                                 "testsrc2=size=320x240:rate=25:duration=0.24", "-f", "lavfi", "-i",
                                                 "sine=duration=1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt",
                                                 "yuv420p", "-c:a", "aac", path])
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let ids = try await app.postLive(alice, file: path)
            let segment = try await app.request(.get, "/api/v1/stories/\(ids[0])", token: alice).decode(API.Segment.self)
            #expect(segment.state == "live")
            #expect(try await app.request(.get, "/media/\(ids[0])/poster.jpg", token: alice).status == .ok)
        }
    }
}
