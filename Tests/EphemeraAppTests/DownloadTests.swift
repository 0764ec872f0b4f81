import EphemeraApp
import EphemeraCore
import EphemeraTestSupport
import Foundation
import Testing

@Suite struct DownloadTests {
    /// Mean absolute difference of two pictures in a horizontal band (fractions of the height), as 8-bit grey.
    func bandDifference(_ a: String, _ b: String, from top: Double, to bottom: Double) throws -> Double {
        func grey(_ path: String) throws -> [UInt8] {
            let out = path + ".grey"
            _ = try ServerProcess.runTool("ffmpeg", [
                "-v", "error", "-y", "-i", path, "-frames:v", "1",
                "-vf", "crop=iw:ih*\(bottom - top):0:ih*\(top),scale=64:16,format=gray", "-f", "rawvideo", out,
            ])
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        }
        let (x, y) = (try grey(a), try grey(b))
        guard x.count == y.count, !x.isEmpty else { return 0 }
        return Double(zip(x, y).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(x.count)
    }

    @Test(arguments: Backend.withStores)
    func downloadsAreWatermarkedCachedCountedAndRespectTheAuthorsChoice(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let photo = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(width: 1080, height: 1350),
                                               fields: ["audience": "public"])[0]
            let video = try await app.postLive(alice, file: try await MediaFixtures.shared.video(seconds: 2, width: 720, height: 1280),
                                               fields: ["audience": "public"])[0]
            for (id, ext) in [(photo, "jpg"), (video, "mp4")] {
                // The first request queues the watermarking job; with no worker to wait for, it answers 202.
                let preparing = try await app.request(.get, "/api/v1/stories/\(id)/download", token: bob)
                #expect(preparing.status == .accepted && preparing.headers[.retryAfter] == "2")
                let body = try preparing.decode(API.DownloadPreparing.self)
                #expect(body.state == "preparing" && body.retryAfter == 2)
                try await app.processJobs()
                let download = try await app.request(.get, "/api/v1/stories/\(id)/download", token: bob)
                #expect(download.status == .ok)
                #expect(download.headers[.contentDisposition] == "attachment; filename=\"ephemera-alice-\(id).\(ext)\"")
                #expect(download.headers[.contentLength] == String(download.body.readableBytes))
                let marked = app.dataDirectory + "-scratch/marked-\(id).\(ext)"
                try Data(buffer: download.body).write(to: URL(fileURLWithPath: marked))
                let original = try await app.plaintext(id, ext == "mp4" ? .video : .photo)
                // A visible mark in the bottom band; the top of the picture is untouched.
                #expect(try bandDifference(marked, original, from: 0.85, to: 0.95) > 6, "\(ext)")
                #expect(try bandDifference(marked, original, from: 0.05, to: 0.4) < 4, "\(ext)")
                let codecs = ((try await probeJSON(marked))["streams"] as? [[String: Any]] ?? []).compactMap { $0["codec_name"] as? String }
                #expect(codecs.first == (ext == "mp4" ? "h264" : "mjpeg"))
            }
            // Made once: a second download serves the stored copy.
            // (Each encryption draws a new salt, so a remade copy would not have the same bytes.)
            let made = try #require(try await app.storedBlobs()["media/\(video)/download.mp4"])
            _ = try await app.request(.get, "/api/v1/stories/\(video)/download", token: bob)
            #expect(try await app.storedBlobs()["media/\(video)/download.mp4"] == made)
            let counts = try await app.request(.get, "/api/v1/stories/\(video)", token: alice).decode(API.Segment.self).counts
            #expect(counts.downloads == 2)

            // The original is the author's alone.
            let original = try await app.request(.get, "/api/v1/stories/\(video)/download?original=true", token: alice)
            #expect(original.status == .ok)
            #expect(Data(buffer: original.body) == (try await app.services.media.decryptedData(segmentID: video, rendition: .video)))
            #expect(try await app.request(.get, "/api/v1/stories/\(video)/download?original=true", token: bob).status == .forbidden)

            _ = try await app.request(.patch, "/api/v1/me/settings", token: alice, json: ["allowDownloads": false])
            let refused = try await app.request(.get, "/api/v1/stories/\(photo)/download", token: bob)
            #expect(refused.status == .forbidden && refused.errorCode == "downloads_disabled")
            #expect(try await app.request(.get, "/api/v1/stories/\(photo)/download", token: alice).status == .ok)
            let marked = try await app.request(.get, "/api/v1/stories/\(photo)/download", token: alice)
            #expect(marked.status == .ok && marked.headers[.contentDisposition]?.contains("ephemera-alice-") == true)

            // Deleted: gone for everyone else; purged: the download copy goes too.
            _ = try await app.request(.delete, "/api/v1/stories/\(video)?permanent=true", token: alice)
            #expect(try await app.request(.get, "/api/v1/stories/\(video)/download", token: bob).status == .notFound)
            try await app.processJobs()
            let receipt = try await app.request(.get, "/api/v1/stories/\(video)/deletion-receipt", token: alice)
            let removed = try receipt.decode(API.Receipt.self).entries.map(\.removed)
            #expect(removed.contains { $0.hasPrefix("download.mp4") })
        }
    }

    /// Many first downloads at once make one job, so one encode (today's six parallel first downloads started
    /// six libx264 processes).
    @Test(arguments: Backend.withStores)
    func concurrentFirstDownloadsQueueOneJob(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 { group.addTask { Int(try await app.request(.get, "/api/v1/stories/\(id)/download", token: bob).status.code) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 202, count: 6))
            let jobs = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'render_download'").first()?.decode(column: "n", as: Int.self)
            }
            #expect(jobs == 1)
            try await app.processJobs()
            #expect(try await app.request(.get, "/api/v1/stories/\(id)/download", token: bob).status == .ok)
        }
    }

    /// Bob starts a download; while ffmpeg is making his watermarked copy, Alice deletes the segment
    /// permanently and the purge runs. Nothing may outlive the purge: no `download.*`, no new key (before,
    /// Bob got 200 and the audit found both).
    @Test(arguments: Backend.withStores)
    func aDownloadRacingAPurgeLeavesNothingReadable(backend: Backend) async throws {
        let gate = TranscoderGate()
        try await TestApp.run(backend, ports: PortOverrides(transcoder: GatedTranscoder(gate: gate))) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
            #expect(try await app.request(.get, "/api/v1/stories/\(id)/download", token: bob).status == .accepted)
            await gate.close()
            let rendering = Task { try await app.services.worker.runNext(kinds: JobLane.media.kinds) }
            await gate.waitUntilEntered()
            // ffmpeg is working on Bob's copy: Alice deletes for good and the purge runs to the end.
            #expect(try await app.request(.delete, "/api/v1/stories/\(id)?permanent=true", token: alice).status == .accepted)
            while try await app.services.worker.runNext(kinds: JobLane.deletion.kinds) {}
            #expect(try await app.request(.get, "/api/v1/stories/\(id)/deletion-receipt", token: alice).status == .ok)
            await gate.open()
            #expect(try await rendering.value)
            #expect(try await app.services.keyring.key(for: id) == nil)
            #expect(!FileManager.default.fileExists(atPath: app.dataDirectory + "/media/\(id)"))
            #expect(!(try await app.storedBlobs()).keys.contains { $0.contains(id) })
            let gone = try await app.request(.get, "/api/v1/stories/\(id)/download", token: bob)
            #expect(gone.status == .notFound && gone.errorCode == "story_not_found")
            #expect(try await app.audit().isEmpty)
        }
    }
}
