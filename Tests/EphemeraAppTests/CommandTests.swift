import EphemeraTestSupport
import Foundation
import Testing

/// The `ephemera` executable itself: configuration, migrate, and a body refused while it streams.
@Suite struct CommandTests {
    @Test func migrateCreatesTheDatabaseAndIsRepeatable() throws {
        let directory = NSTemporaryDirectory() + "ephemera-migrate-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try ServerProcess.runCommand(["migrate", "--data-dir", directory])
        #expect(first.status == 0, "\(first.output)")
        #expect(FileManager.default.fileExists(atPath: directory + "/ephemera.sqlite"))
        let again = try ServerProcess.runCommand(["migrate", "--data-dir", directory])
        #expect(again.status == 0 && again.output.contains("up to date"))
    }

    @Test func theDataFolderAndDatabaseArePrivateAndAScratchFolderNotOursAloneIsRefused() throws {
        let directory = NSTemporaryDirectory() + "ephemera-private-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func mode(_ path: String) throws -> Int {
            try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        }
        let first = try ServerProcess.runCommand(["migrate", "--data-dir", directory, "--scratch-dir", directory + "-scratch"])
        defer { try? FileManager.default.removeItem(atPath: directory + "-scratch") }
        #expect(first.status == 0, "\(first.output)")
        #expect(try mode(directory) == 0o700)
        #expect(try mode(directory + "/ephemera.sqlite") == 0o600)
        #expect(try mode(directory + "/keyring") == 0o700)
        #expect(try mode(directory + "-scratch") == 0o700)
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasPrefix("ephemera.sqlite") {
            #expect(try mode(directory + "/" + file) == 0o600, "\(file)")
        }
        // What an older version left open (0755 / 0644) is closed at the next start.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: directory + "/ephemera.sqlite")
        #expect(try ServerProcess.runCommand(["migrate", "--data-dir", directory, "--scratch-dir", directory + "-scratch"]).status == 0)
        #expect(try mode(directory) == 0o700 && mode(directory + "/ephemera.sqlite") == 0o600)

        // A scratch folder someone made beforehand, open to others, or a link to elsewhere: refused, not used.
        let open = directory + "-open"
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o777])
        let link = directory + "-link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: directory + "-scratch")
        defer { for path in [open, link] { try? FileManager.default.removeItem(atPath: path) } }
        for (scratch, reason) in [(open, "is open to other users (mode 777)"), (link, "is not a folder")] {
            let refused = try ServerProcess.runCommand(["migrate", "--data-dir", directory, "--scratch-dir", scratch])
            #expect(refused.status != 0)
            #expect(refused.output.contains(scratch) && refused.output.contains(reason) && refused.output.contains("0700"),
                    "\(refused.output)")
        }
        #expect(try mode(open) == 0o777, "a refused folder is left as it was")
        if geteuid() == 0 {
            // Another user's folder (root can make one here), even if private.
            let foreign = directory + "-foreign"
            try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            defer { try? FileManager.default.removeItem(atPath: foreign) }
            #expect(chown(foreign, 65534, 65534) == 0)
            let refused = try ServerProcess.runCommand(["migrate", "--data-dir", directory, "--scratch-dir", foreign])
            #expect(refused.status != 0 && refused.output.contains("belongs to another user (uid 65534)"), "\(refused.output)")
        }
    }

    /// A request's line in `--log-format json`.
    struct RequestLine: Decodable {
        var time: String
        var level: String
        var message: String
        var requestId: String
        var method: String
        var route: String
        var status: Int
        var durationMs: Double
    }

    @Test func jsonLogsHaveOneObjectALineAndEveryResponseItsRequestID() async throws {
        let (server, directory, _) = try await startServer(.sqlite, arguments: ["--log-format", "json"])
        defer {
            server.kill9()
            removeServerFolders(directory)
        }
        func requestID(_ reply: ServerProcess.Reply) -> String? {
            reply.headers.first { $0.key.lowercased() == "x-request-id" }?.value
        }
        let missing = try await server.request("GET", "/api/v1/stories/nosuchsegment")
        let nowhere = try await server.request("GET", "/no/such/page")
        let unauthorized = try await server.request("GET", "/api/v1/me")
        let kept = try await server.request("GET", "/healthz", headers: ["X-Request-Id": "lb-0123-abcd"])
        #expect(missing.status == 404 && nowhere.status == 404 && unauthorized.status == 401 && kept.status == 200)
        for reply in [missing, nowhere, unauthorized] {
            #expect(requestID(reply).map { $0.count == 16 } == true, "\(reply.headers)")
        }
        #expect(requestID(kept) == "lb-0123-abcd", "a load balancer's id is kept")

        let text = try String(contentsOfFile: directory + "/server-\(server.port).log", encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.count > 4)
        for line in lines {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "not one JSON object: \(line)")
        }
        let requests = lines.compactMap { try? JSONDecoder().decode(RequestLine.self, from: Data($0.utf8)) }
        let byID = Dictionary(requests.map { ($0.requestId, $0) }, uniquingKeysWith: { first, _ in first })
        let story = try #require(byID[requestID(missing) ?? ""])
        #expect(story.route == "/api/v1/stories/{id}" && story.status == 404 && story.method == "GET" && story.level == "info")
        #expect(story.durationMs >= 0 && story.message == "request" && story.time.hasSuffix("Z"))
        #expect(byID[requestID(nowhere) ?? ""]?.status == 404)
        #expect(byID[requestID(unauthorized) ?? ""].map { $0.status == 401 && $0.route == "/api/v1/me" } == true)
        #expect(byID["lb-0123-abcd"]?.route == "/healthz")
        #expect(!text.contains("nosuchsegment?"), "no query strings")

        let bad = try ServerProcess.runCommand(["serve", "--log-format", "xml", "--data-dir", directory])
        #expect(bad.status != 0 && bad.output.contains("--log-format: 'xml' is not text or json"), "\(bad.output)")
    }

    @Test func auditListsResidueAndExitsOne() throws {
        let directory = NSTemporaryDirectory() + "ephemera-audit-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let arguments = ["audit", "--data-dir", directory, "--scratch-dir", directory + "/scratch"]
        let clean = try ServerProcess.runCommand(arguments)
        #expect(clean.status == 0 && clean.output.contains("no residue"), "\(clean.output)")
        try FileManager.default.createDirectory(atPath: directory + "/media/strayblob", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: directory + "/media/strayblob/video.mp4", contents: Data("x".utf8))
        FileManager.default.createFile(atPath: directory + "/keyring/keys/orphan.key", contents: Data(count: 32))
        let dirty = try ServerProcess.runCommand(arguments)
        #expect(dirty.status == 1)
        #expect(dirty.output.contains("media of strayblob (folder or objects) belong to no segment row"), "\(dirty.output)")
        #expect(dirty.output.contains("data key orphan belongs to no segment"), "\(dirty.output)")
    }

    @Test func badConfigurationIsReportedAllAtOnce() throws {
        let result = try ServerProcess.runCommand([
            "serve", "--port", "99999", "--story-lifetime", "forever", "--max-upload-bytes", "lots",
            "--public-url", "ftp://x", "--data-dir", NSTemporaryDirectory() + "never-" + UUID().uuidString,
        ])
        #expect(result.status != 0)
        for key in ["--port", "--story-lifetime", "--max-upload-bytes", "--public-url"] {
            #expect(result.output.contains(key), "\(key) in \(result.output)")
        }
    }

    @Test func theDefaultLifetimeCannotExceedTheLongestAllowed() throws {
        let result = try ServerProcess.runCommand([
            "serve", "--story-lifetime", "72h", "--max-story-lifetime", "48h",
            "--data-dir", NSTemporaryDirectory() + "never-" + UUID().uuidString,
        ])
        #expect(result.status != 0 && result.output.contains("--max-story-lifetime"), "\(result.output)")
    }

    @Test func anS3StoreNeedsItsEndpointBucketAndCredentialsFromTheEnvironment() throws {
        let result = try ServerProcess.runCommand([
            "serve", "--media-store", "s3", "--s3-endpoint", "http://127.0.0.1:1/some/path", "--s3-bucket", "Bad_Bucket",
            "--s3-path-style", "maybe", "--data-dir", NSTemporaryDirectory() + "never-" + UUID().uuidString,
        ])
        #expect(result.status != 0)
        for key in ["--s3-endpoint", "--s3-bucket", "--s3-path-style", "EPHEMERA_S3_ACCESS_KEY_ID"] {
            #expect(result.output.contains(key), "\(key) in \(result.output)")
        }
        let unknown = try ServerProcess.runCommand(["serve", "--media-store", "tape"])
        #expect(unknown.status != 0 && unknown.output.contains("'tape' is not file or s3"))
    }

    @Test func oversizedBodyIsRefusedWhileStreaming() async throws {
        let directory = NSTemporaryDirectory() + "ephemera-stream-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = ServerProcess(dataDirectory: directory, databaseURL: nil, extraArguments: ["--max-upload-bytes", "1MB"])
        try await server.start()
        let token = try await server.request("POST", "/api/v1/accounts",
            json: ["handle": "alice", "password": "correct horse"]).decode(API.Session.self).token
        let boundary = "b0undary"
        let result = try server.streamChunkedPost(
            path: "/api/v1/stories", token: token, contentType: "multipart/form-data; boundary=\(boundary)",
            maxBytes: 64 * 1024 * 1024)
        #expect(result.status == 413)
        // Refused soon after the limit (1 MB + framing allowance), far from the 64 MB the client would send.
        #expect(result.bytesSent < 8 * 1024 * 1024, "sent \(result.bytesSent) bytes before the answer")
        #expect(try ServerProcess.runCommand(["audit", "--data-dir", directory]).output.contains("no residue"))
        #expect(try await server.request("GET", "/healthz").status == 200)

        // Form fields without end (each 60 KB): refused once they add up to more than FormLimits allows, not
        // held in memory until the body ends (2,500 of them would be 150 MB).
        let field = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\n".utf8)
            + [UInt8](repeating: 0x78, count: 60 * 1024) + Array("\r\n".utf8)
        let fields = try server.streamChunkedPost(
            path: "/api/v1/stories", token: token, contentType: "multipart/form-data; boundary=\(boundary)",
            maxBytes: 2_500 * field.count, repeating: field)
        #expect(fields.status == 413)
        // 256 KB of fields, plus what the loopback's socket buffers take before the answer is read: far below 150 MB.
        #expect(fields.bytesSent < 16 * 1024 * 1024, "sent \(fields.bytesSent) bytes before the answer")
        #expect(try await server.request("GET", "/healthz").status == 200)
        #expect(try await server.terminate() == 0)
    }
}
