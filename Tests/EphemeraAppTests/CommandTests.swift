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
        #expect(try await server.terminate() == 0)
    }
}
