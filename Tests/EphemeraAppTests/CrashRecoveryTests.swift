import EphemeraCore
import EphemeraTestSupport
import Foundation
import Testing

/// A real server process, killed with SIGKILL in the middle of a transcode, then restarted.
@Suite(.serialized) struct CrashRecoveryTests {
    @Test(arguments: Backend.all)
    func killDuringTranscodeNeverShowsABrokenSegmentAndResumesAfterRestart(backend: Backend) async throws {
        let (server, directory, databaseURL) = try await startServer(backend)
        defer {
            server.kill9()  // no-op once terminated; stops a server a failed expectation left running
            removeServerFolders(directory)
        }

        let alice = try await server.request("POST", "/api/v1/accounts",
            json: ["handle": "alice", "password": "correct horse"]).decode(API.Session.self).token
        let bob = try await server.request("POST", "/api/v1/accounts",
            json: ["handle": "bob", "password": "correct horse"]).decode(API.Session.self).token
        _ = try await server.request("PUT", "/api/v1/me/following/alice", token: bob)
        // MPEG-4 Part 2 at full frame: it must be re-encoded, which takes seconds on two cores (long enough to be
        // caught in the act even when the machine is busy with other tests).
        let clip = try await MediaFixtures.shared.video(seconds: 14, width: 1080, height: 1920, codec: "mpeg4")
        let form = try MultipartForm(fields: ["audience": "followers"], file: (clip, "clip.mp4"))
        let posted = try await server.request("POST", "/api/v1/stories", token: alice,
                                              body: Data(buffer: form.body), contentType: form.contentType)
        #expect(posted.status == 201)
        let id = try #require(try posted.decode(API.Posted.self).segments.first?.id)

        // Wait until ffmpeg is writing this segment's video, then kill the server without warning.
        var transcoding = false
        for _ in 0..<600 {
            if !processes(containing: directory + "-scratch/work/").isEmpty { transcoding = true; break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(transcoding, "ffmpeg never started: \(server.readLog())")
        server.kill9()
        for pid in processes(containing: directory + "-scratch/") { kill(pid, SIGKILL) }

        try await server.start()
        // Right after restart: hidden from others until it is live, never a broken visible segment.
        let others = try await server.request("GET", "/api/v1/stories/\(id)", token: bob)
        #expect(try others.status == 404 || (others.decode(API.Segment.self)).state == "live")
        let early = try await server.request("GET", "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self)
        #expect(["processing", "live"].contains(early.state))

        var state = ""
        for _ in 0..<600 {
            state = try await server.request("GET", "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self).state
            if state != "processing" { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(state == "live", "\(server.readLog())")
        let media = try await server.request("GET", "/media/\(id)/video.mp4", token: bob)
        #expect(media.status == 200)
        let fetched = directory + "/fetched.mp4"
        try media.body.write(to: URL(fileURLWithPath: fetched))
        let probe = try await probeJSON(fetched)
        let duration = Double((probe["format"] as? [String: Any])?["duration"] as? String ?? "") ?? 0
        #expect(abs(duration - 14) < 0.3)
        // Nothing half-made is left on disk.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory + "/media/\(id)")
        #expect(Set(leftovers) == ["video.mp4", "poster.jpg"])
        #expect(try ServerProcess.runCommand(["audit", "--data-dir", directory, "--scratch-dir", directory + "-scratch"]
                                            + (databaseURL.map { ["--database-url", $0] } ?? [])).output.contains("no residue"))

        // SIGTERM drains and exits 0.
        #expect(try await server.terminate() == 0)
    }

    @Test(arguments: Backend.all)
    func killDuringPurgeThenRestartCompletesEveryPurge(backend: Backend) async throws {
        let (server, directory, databaseURL) = try await startServer(backend)
        defer {
            server.kill9()  // no-op once terminated; stops a server a failed expectation left running
            removeServerFolders(directory)
        }
        let alice = try await server.request("POST", "/api/v1/accounts",
            json: ["handle": "alice", "password": "correct horse"]).decode(API.Session.self).token
        let photo = try await MediaFixtures.shared.photo()
        var ids: [String] = []
        for _ in 0..<12 {
            let form = try MultipartForm(fields: [:], file: (photo, "p.jpg"))
            let posted = try await server.request("POST", "/api/v1/stories", token: alice,
                                                  body: Data(buffer: form.body), contentType: form.contentType)
            ids.append(try #require(try posted.decode(API.Posted.self).segments.first?.id))
        }
        for _ in 0..<200 {
            let states = try await ids.asyncMap {
                try await server.request("GET", "/api/v1/stories/\($0)", token: alice).decode(API.Segment.self).state
            }
            if states.allSatisfy({ $0 == "live" }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let accepted = try await server.request("DELETE", "/api/v1/me/stories", token: alice, json: ["password": "correct horse"])
        #expect(accepted.status == 202)
        server.kill9()  // the purges are under way (or not yet started): no chance to finish cleanly

        try await server.start()
        var receipts = 0
        for _ in 0..<300 {
            receipts = 0
            for id in ids where try await server.request("GET", "/api/v1/stories/\(id)/deletion-receipt", token: alice).status == 200 {
                receipts += 1
            }
            if receipts == ids.count { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(receipts == ids.count, "\(server.readLog())")
        let audit = try ServerProcess.runCommand(["audit", "--data-dir", directory, "--scratch-dir", directory + "-scratch"]
                                                 + (databaseURL.map { ["--database-url", $0] } ?? []))
        #expect(audit.status == 0 && audit.output.contains("no residue"), "\(audit.output)")
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let path = enumerator?.nextObject() as? String {
            #expect(!ids.contains { path.contains($0) }, "\(path) belongs to a purged segment")
        }
        #expect(try await server.terminate() == 0)
    }
}

/// A real server on `backend` with its own data and scratch folders.
/// A server process on `backend`'s database; media in `bucket` when one is given.
func startServer(_ backend: Backend, bucket: TestBucket? = nil, arguments extra: [String] = []) async throws
    -> (ServerProcess, String, String?)
{
    let directory = NSTemporaryDirectory() + "ephemera-server-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let databaseURL = backend.database == .postgres ? try await TestDatabase.make(.postgres, directory: directory) : nil
    var arguments = ["--scratch-dir", directory + "-scratch"] + extra, environment: [String: String] = [:]
    if let s3 = bucket?.settings {
        arguments += ["--media-store", "s3", "--s3-endpoint", s3.endpoint.absoluteString, "--s3-bucket", s3.bucket]
        environment = ["EPHEMERA_S3_ACCESS_KEY_ID": s3.accessKeyID, "EPHEMERA_S3_SECRET_ACCESS_KEY": s3.secretAccessKey]
    }
    let server = ServerProcess(dataDirectory: directory, databaseURL: databaseURL, extraArguments: arguments,
                               extraEnvironment: environment)
    try await server.start()
    return (server, directory, databaseURL)
}

func removeServerFolders(_ directory: String) {
    try? FileManager.default.removeItem(atPath: directory)
    try? FileManager.default.removeItem(atPath: directory + "-scratch")
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
