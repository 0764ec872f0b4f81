import EphemeraApp
import EphemeraCore
import EphemeraObjectStore
import Foundation
import NIOCore
import Subprocess

/// A bucket of its own for one test on the S3 server `script/s3` started (`EPHEMERA_TEST_S3_*`), removed with
/// everything in it afterwards.
public struct TestBucket: Sendable {
    public let settings: AppConfiguration.S3Settings
    public let client: S3Client

    /// A new bucket when `backend` keeps media in S3, else nil.
    public static func make(for backend: Backend) async throws -> TestBucket? {
        guard backend.media == .s3 else { return nil }
        return try await make()
    }

    public static func make() async throws -> TestBucket {
        let env = ProcessInfo.processInfo.environment
        guard let endpoint = env["EPHEMERA_TEST_S3_ENDPOINT"].flatMap(URL.init(string:)),
              let access = env["EPHEMERA_TEST_S3_ACCESS_KEY_ID"], let secret = env["EPHEMERA_TEST_S3_SECRET_ACCESS_KEY"]
        else { throw TestFailure("EPHEMERA_TEST_S3_ENDPOINT and its keys are not set; run script/s3 start") }
        let name = "t-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(24)
        let settings = AppConfiguration.S3Settings(endpoint: endpoint, bucket: String(name), accessKeyID: access,
                                                   secretAccessKey: secret)
        let client = S3Client(configuration: .init(endpoint: endpoint, bucket: settings.bucket,
                                                   credentials: .init(accessKeyID: access, secretAccessKey: secret)))
        try await client.createBucket()
        return TestBucket(settings: settings, client: client)
    }

    public func remove() async throws {
        try await client.deleteBucketAndContents()
    }
}

/// A SeaweedFS server of one test's own (`script/s3`), for outages: killed and brought back on the same ports
/// with its data, while the shared server other tests use carries on.
public final class S3TestServer: @unchecked Sendable {
    public let directory: String
    public let endpoint: URL
    public let credentials: SigV4.Credentials

    /// The repository's `script/s3`, found from this source file's place.
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("script/s3").path
    }

    /// Runs the script (Foundation's `Process.waitUntilExit` never returned here once the script had left a
    /// server running in the background; swift-subprocess does not wait on it).
    static func run(_ arguments: [String]) async throws -> String {
        let result = try await Subprocess.run(.path(.init(script)), arguments: .init(arguments),
                                              output: .string(limit: 64 * 1024), error: .discarded)
        guard result.terminationStatus.isSuccess else {
            throw TestFailure("script/s3 \(arguments.joined(separator: " ")) failed: \(result.terminationStatus)")
        }
        return result.standardOutput ?? ""
    }

    init(directory: String, endpoint: URL, credentials: SigV4.Credentials) {
        self.directory = directory
        self.endpoint = endpoint
        self.credentials = credentials
    }

    /// Starts a server of the test's own.
    public static func start() async throws -> S3TestServer {
        var values: [String: String] = [:]
        for line in try await run(["start"]).split(separator: "\n") where line.hasPrefix("export ") {
            let pair = line.dropFirst("export ".count).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { values[String(pair[0])] = String(pair[1]) }
        }
        guard let dir = values["EPHEMERA_S3_DIR"], let endpoint = values["EPHEMERA_TEST_S3_ENDPOINT"].flatMap(URL.init(string:)),
              let access = values["EPHEMERA_TEST_S3_ACCESS_KEY_ID"], let secret = values["EPHEMERA_TEST_S3_SECRET_ACCESS_KEY"]
        else { throw TestFailure("script/s3 start printed no server") }
        return S3TestServer(directory: dir, endpoint: endpoint, credentials: .init(accessKeyID: access, secretAccessKey: secret))
    }

    public func settings(bucket: String) -> AppConfiguration.S3Settings {
        .init(endpoint: endpoint, bucket: bucket, accessKeyID: credentials.accessKeyID,
              secretAccessKey: credentials.secretAccessKey)
    }

    public func client(bucket: String) -> S3Client {
        S3Client(configuration: .init(endpoint: endpoint, bucket: bucket, credentials: credentials))
    }

    /// The server dies at once (SIGKILL), as in a crash or a network cut.
    public func kill() async throws { _ = try await Self.run(["kill", directory]) }

    /// Brings it back with its data, and waits until `bucket` takes writes again.
    public func restart(bucket: String) async throws {
        _ = try await Self.run(["restart", directory])
        let client = client(bucket: bucket)
        for _ in 0..<300 {
            if (try? await client.putObject("probe", ByteBuffer(string: "ok"))) != nil {
                try await client.deleteObject("probe")
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("the S3 server did not take writes again")
    }

    public func stop() async { _ = try? await Self.run(["stop", directory]) }
}
