import EphemeraApp
import EphemeraCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import EphemeraObjectStore
import EphemeraStore

/// One test's Ephemera: its own database and data folder, an injected clock, background services off (the
/// test runs the worker and sweeper when it wants), and an API client.
public struct TestApp: Sendable {
    public let client: any TestClientProtocol
    public let services: AppServices
    public let clock: TestClock
    public let dataDirectory: String
    /// The test's bucket when media live in S3.
    public let bucket: TestBucket?
    /// Every route the app's router answers (`METHOD /path/{parameter}`).
    public let routes: [String]

    /// Builds the app on `backend` and runs `body` against it; everything is removed afterwards. `live`: the
    /// client talks to the app's real HTTP server on a loopback port (its channel pipeline included) instead of
    /// calling the router.
    public static func run<T: Sendable>(
        _ backend: Backend,
        live: Bool = false,
        configure: @Sendable (inout AppConfiguration) -> Void = { _ in },
        ports: PortOverrides = PortOverrides(),
        _ body: @Sendable (TestApp) async throws -> T
    ) async throws -> T {
        let directory = NSTemporaryDirectory() + "ephemera-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + "-scratch")
        }
        var configuration = AppConfiguration()
        configuration.dataDirectory = directory
        configuration.databaseURL = try await TestDatabase.make(backend, directory: directory)
        configuration.bcryptCost = 4
        configuration.runBackgroundServices = false
        configuration.rateLimits = false
        configuration.publicURL = "http://stories.test"
        configuration.scratchDirectory = directory + "-scratch"
        // No background worker runs in these tests: a first download answers 202 at once, and the test runs the job.
        configuration.downloadWait = .zero
        let bucket = try await TestBucket.make(for: backend)
        if let bucket {
            configuration.mediaStore = .s3
            configuration.s3 = bucket.settings
        }
        configure(&configuration)
        let clock = TestClock()
        let built = try await buildApplication(configuration: configuration, clock: clock, logger: TestDatabase.quietLogger,
                                               ports: ports)
        do {
            let result = try await built.application.test(live ? .live : .router) { client in
                let result = try await body(TestApp(client: client, services: built.services, clock: clock, dataDirectory: directory,
                                                     bucket: bucket, routes: built.routes))
                // Every scenario ends clean: `ephemera audit` finds no residue.
                let findings = try await built.services.auditor.findings()
                guard findings.isEmpty else { throw TestFailure("audit found residue: \(findings)") }
                return result
            }
            try? await bucket?.remove()
            if let keys = built.services.keyring as? PostgresKeyring { await keys.shutdown() }
            return result
        } catch {
            try? await bucket?.remove()
            if let keys = built.services.keyring as? PostgresKeyring { await keys.shutdown() }
            throw error
        }
    }

    /// Another node of the same cluster: the same database, keys and bucket, a data folder and scratch of its own,
    /// no HTTP side (its services are called directly). Shut it down when done; its folder goes with the test's.
    public func openNode(_ name: String, configure: (inout AppConfiguration) -> Void = { _ in }) async throws -> AppServices {
        var other = services.configuration
        other.databaseURL = other.resolvedDatabaseURL
        other.keyringDirectory = other.resolvedKeyringDirectory
        other.dataDirectory = dataDirectory + "/node-" + name
        other.scratchDirectory = dataDirectory + "-scratch/node-" + name
        other.nodeID = name
        configure(&other)
        return try await AppServices.open(configuration: other, clock: clock, logger: TestDatabase.quietLogger)
    }

    /// A rendition decrypted into a temporary file (the stored blob is encrypted), for ffprobe and byte checks.
    public func plaintext(_ segmentID: String, _ rendition: Rendition) async throws -> String {
        guard let data = try await services.media.decryptedData(segmentID: segmentID, rendition: rendition) else {
            throw TestFailure("no \(rendition.rawValue) for \(segmentID)")
        }
        let path = dataDirectory + "-scratch/plain-\(UUID().uuidString)-\(rendition.rawValue)"
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A client for the configured bucket, when media live in S3.
    public var s3Client: S3Client? {
        guard services.configuration.mediaStore == .s3, let s3 = services.configuration.s3 else { return nil }
        return S3Client(configuration: .init(endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, pathStyle: s3.pathStyle,
                                             credentials: .init(accessKeyID: s3.accessKeyID, secretAccessKey: s3.secretAccessKey)))
    }

    /// Every stored media blob, encrypted as stored, by name (`media/{segmentID}/{rendition}`): the files under
    /// the data directory, or the bucket's objects.
    public func storedBlobs() async throws -> [String: Data] {
        if s3Client != nil { return try await storedObjects(prefix: "media/") }
        var blobs: [String: Data] = [:]
        for file in dataFiles() where file.hasPrefix("media/") {
            blobs[file] = try Data(contentsOf: URL(fileURLWithPath: dataDirectory + "/" + file))
        }
        return blobs
    }

    /// The stored bytes of tus upload `id`'s spool, wherever it lives (its parts in order on the object store).
    public func storedSpool(_ id: String) async throws -> Data {
        if s3Client != nil {
            return try await storedObjects(prefix: "spools/\(id)/").sorted { $0.key < $1.key }
                .reduce(Data()) { $0 + $1.value }
        }
        return (try? Data(contentsOf: URL(fileURLWithPath: dataDirectory + "/uploads/\(id).spool"))) ?? Data()
    }

    /// The bucket's objects under `prefix`, as stored (empty on the file store).
    public func storedObjects(prefix: String) async throws -> [String: Data] {
        guard let client = s3Client else { return [:] }
        var objects: [String: Data] = [:]
        for object in try await client.list(prefix: prefix).objects {
            guard let bytes = try await client.getBytes(object.key, range: 0...max(object.size - 1, 0)) else { continue }
            objects[object.key] = Data(bytes.readableBytesView)
        }
        return objects
    }

    /// Flips the byte at `offset` of a stored blob, wherever it lives (to prove damage is refused).
    public func tamper(blob name: String, at offset: Int) async throws {
        var data = try await storedBlobs()[name] ?? Data()
        guard offset < data.count else { throw TestFailure("\(name) has no byte \(offset)") }
        data[data.startIndex + offset] ^= 0xFF
        if let client = s3Client {
            try await client.putObject(name, ByteBuffer(data: data))
        } else {
            try data.write(to: URL(fileURLWithPath: dataDirectory + "/" + name))
        }
    }

    /// What `ephemera audit` would report.
    public func audit() async throws -> [String] {
        try await services.auditor.findings()
    }

    /// Every file under the data directory (not the scratch area).
    public func dataFiles() -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: dataDirectory)
        var files: [String] = []
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: dataDirectory + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(path)
            }
        }
        return files
    }

    /// Runs queued processing jobs to completion.
    public func processJobs() async throws {
        try await services.worker.drain()
    }

    // MARK: Requests

    @discardableResult
    public func request(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: [String: any Sendable]? = nil,
        body: ByteBuffer? = nil, headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        if let token { headers[.authorization] = "Bearer \(token)" }
        var payload = body
        if let json {
            headers[.contentType] = "application/json"
            payload = ByteBuffer(data: try JSONSerialization.data(withJSONObject: json))
        }
        return try await client.execute(uri: uri, method: method, headers: headers, body: payload)
    }

    /// Signs up `handle` and returns its token.
    public func signUp(_ handle: String, password: String = "correct horse") async throws -> String {
        let response = try await request(.post, "/api/v1/accounts", json: ["handle": handle, "password": password])
        guard response.status == .created else {
            throw TestFailure("sign-up of \(handle) failed: \(response.status) \(response.text)")
        }
        return try response.decode(API.Session.self).token
    }

    public func follow(_ token: String, _ handle: String) async throws {
        let response = try await request(.put, "/api/v1/me/following/\(handle)", token: token)
        guard response.status == .noContent else { throw TestFailure("follow failed: \(response.text)") }
    }

    /// Posts `file` (and an optional `sound` track) with form `fields` through `POST /api/v1/stories`.
    public func post(_ token: String, file: String?, fields: [String: String] = [:], filename: String? = nil,
                     sound: String? = nil) async throws -> TestResponse
    {
        var form = try MultipartForm(fields: fields, file: file.map { ($0, filename ?? ($0 as NSString).lastPathComponent) })
        if let sound { try form.add(file: sound, field: "sound") }
        return try await request(.post, "/api/v1/stories", token: token, body: form.body,
                                 headers: [.contentType: form.contentType])
    }

    /// Posts `file`, runs processing, and returns the ids of the segments it made.
    public func postLive(_ token: String, file: String, fields: [String: String] = [:], sound: String? = nil)
        async throws -> [String]
    {
        let response = try await post(token, file: file, fields: fields, sound: sound)
        guard response.status == .created else {
            throw TestFailure("post failed: \(response.status) \(response.text)")
        }
        let segments = try response.decode(API.Posted.self).segments
        try await processJobs()
        return segments.map(\.id)
    }
}

/// A multipart/form-data body.
public struct MultipartForm {
    public let boundary = "ephemera-test-\(UUID().uuidString)"
    public var body: ByteBuffer

    public init(fields: [String: String], file: (path: String, name: String)?, fileField: String = "media") throws {
        var buffer = ByteBuffer()
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            buffer.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n")
        }
        if let file {
            buffer.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(fileField)\"; "
                + "filename=\"\(file.name)\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            buffer.writeBytes(try Data(contentsOf: URL(fileURLWithPath: file.path)))
            buffer.writeString("\r\n")
        }
        body = buffer
        body.writeString("--\(boundary)--\r\n")
    }

    /// Adds another file part (before the closing boundary).
    public mutating func add(file path: String, field: String) throws {
        body.moveWriterIndex(to: body.writerIndex - "--\(boundary)--\r\n".utf8.count)
        body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; "
            + "filename=\"\((path as NSString).lastPathComponent)\"\r\nContent-Type: application/octet-stream\r\n\r\n")
        body.writeBytes(try Data(contentsOf: URL(fileURLWithPath: path)))
        body.writeString("\r\n--\(boundary)--\r\n")
    }

    public var contentType: String { "multipart/form-data; boundary=\(boundary)" }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension TestResponse {
    public var text: String { String(buffer: body) }

}
