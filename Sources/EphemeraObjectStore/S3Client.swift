import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// Why a call to the object store failed, in terms the media store maps to a clear error: the store could not
/// be reached or answered with a server error (retry later), or refused the request (credentials, bucket).
public struct S3Failure: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case unreachable, timeout, refused, notFound, server, protocolError }
    public var kind: Kind
    public var operation: String
    public var detail: String

    public var description: String { "S3 \(operation): \(detail)" }
}

/// The S3 API calls Ephemera needs, signed with SigV4 over async-http-client: objects (PUT, ranged GET, HEAD,
/// DELETE, list), multipart uploads (create, part, complete, abort, list), and buckets (create, for
/// operators and tests). Every payload is signed with its real SHA-256.
public struct S3Client: Sendable {
    public struct Configuration: Sendable, Hashable {
        public var endpoint: URL
        public var bucket: String
        public var region: String
        /// `https://endpoint/bucket/key` (path style) or `https://bucket.endpoint/key` (virtual-hosted).
        public var pathStyle: Bool
        public var credentials: SigV4.Credentials

        public init(endpoint: URL, bucket: String, region: String = "us-east-1", pathStyle: Bool = true,
                    credentials: SigV4.Credentials) {
            self.endpoint = endpoint
            self.bucket = bucket
            self.region = region
            self.pathStyle = pathStyle
            self.credentials = credentials
        }
    }

    public let configuration: Configuration
    let signer: SigV4
    let requestTimeout: TimeAmount

    /// One client for the process: its connection pool is shared by every store and never shut down early.
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5), read: .seconds(30)))
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public init(configuration: Configuration, requestTimeout: TimeAmount = .seconds(120)) {
        self.configuration = configuration
        self.signer = SigV4(credentials: configuration.credentials, region: configuration.region)
        self.requestTimeout = requestTimeout
    }

    // MARK: Addressing

    /// The host header and the encoded path of `key` (nil: the bucket itself).
    func address(_ key: String?) -> (host: String, path: String, base: String) {
        let endpoint = configuration.endpoint
        let scheme = endpoint.scheme ?? "https"
        var host = endpoint.host ?? "localhost"
        if let port = endpoint.port { host += ":\(port)" }
        let encodedKey = key.map { SigV4.encode($0, keepingSlashes: true) }
        if configuration.pathStyle {
            let path = "/" + SigV4.encode(configuration.bucket) + (encodedKey.map { "/" + $0 } ?? "/")
            return (host, path, "\(scheme)://\(host)")
        }
        let virtualHost = configuration.bucket + "." + host
        return (virtualHost, "/" + (encodedKey ?? ""), "\(scheme)://\(virtualHost)")
    }

    /// A presigned GET of `key`, valid `expires` seconds from `date`.
    public func presignedGET(_ key: String, expires: Int, at date: Date = Date()) -> String {
        let (host, path, base) = address(key)
        let query = signer.presignedQuery(method: "GET", host: host, encodedPath: path, expires: expires, at: date)
        return base + path + "?" + SigV4.queryString(query)
    }

    // MARK: Requests

    struct Response {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: HTTPClientResponse.Body
    }

    func send(_ operation: String, method: HTTPMethod, key: String?, query: [(String, String)] = [],
              headers extra: [(String, String)] = [], body: ByteBuffer? = nil) async throws -> Response {
        let (host, path, base) = address(key)
        let payloadHash: String
        if let body {
            payloadHash = body.withUnsafeReadableBytes { SigV4.hex(SHA256.hash(data: $0)) }
        } else {
            payloadHash = SigV4.emptyPayloadHash
        }
        let date = Date()
        var signed = extra + [("host", host), ("x-amz-date", SigV4.stamps(date).dateTime),
                              ("x-amz-content-sha256", payloadHash)]
        let authorization = signer.authorization(
            for: .init(method: method.rawValue, encodedPath: path, query: query, headers: signed, payloadHash: payloadHash),
            at: date)
        signed.removeAll { $0.0 == "host" }
        let queryString = SigV4.canonicalQuery(query)
        var request = HTTPClientRequest(url: base + path + (queryString.isEmpty ? "" : "?" + queryString))
        request.method = method
        for (name, value) in signed { request.headers.add(name: name, value: value) }
        request.headers.add(name: "Authorization", value: authorization)
        if let body {
            request.headers.add(name: "Content-Length", value: String(body.readableBytes))
            request.body = .bytes(body)
        }
        let response: HTTPClientResponse
        do {
            response = try await Self.http.execute(request, timeout: requestTimeout)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout
            || error == .connectTimeout
        {
            throw S3Failure(kind: .timeout, operation: operation, detail: "no answer from \(base) in time (\(error))")
        } catch {
            throw S3Failure(kind: .unreachable, operation: operation, detail: "cannot reach \(base): \(error)")
        }
        return Response(status: response.status, headers: response.headers, body: response.body)
    }

    /// Throws the failure an unsuccessful answer stands for (reading S3's XML error code when there is one).
    func check(_ response: Response, _ operation: String, allowing allowed: Set<UInt> = []) async throws {
        let code = response.status.code
        guard !(200..<300).contains(code), !allowed.contains(code) else { return }
        let text = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
        let s3Code = XMLFields.first("Code", in: text) ?? ""
        let message = XMLFields.first("Message", in: text) ?? ""
        let detail = "\(code) \(s3Code) \(message)".trimmingCharacters(in: .whitespaces)
        switch code {
        case 404: throw S3Failure(kind: .notFound, operation: operation, detail: detail)
        case 400..<500: throw S3Failure(kind: .refused, operation: operation, detail: detail)
        default: throw S3Failure(kind: .server, operation: operation, detail: detail)
        }
    }

    // MARK: Objects

    public func putObject(_ key: String, _ body: ByteBuffer) async throws {
        let response = try await send("PUT object", method: .PUT, key: key, body: body)
        try await check(response, "PUT object")
        _ = try? await response.body.collect(upTo: 1 << 20)
    }

    /// Streams bytes `range` (nil: all) of `key` to `body`; false when there is no such object.
    public func getObject(_ key: String, range: ClosedRange<Int64>? = nil,
                          _ body: (ByteBuffer) async throws -> Void) async throws -> Bool {
        let headers = range.map { [("range", "bytes=\($0.lowerBound)-\($0.upperBound)")] } ?? []
        let response = try await send("GET object", method: .GET, key: key, headers: headers)
        if response.status == .notFound { return false }
        try await check(response, "GET object")
        do {
            for try await buffer in response.body { try await body(buffer) }
        } catch let failure as S3Failure {
            throw failure
        } catch let error as HTTPClientError {
            throw S3Failure(kind: .unreachable, operation: "GET object", detail: "the object store stopped sending: \(error)")
        }
        return true
    }

    /// Bytes `range` of `key` in memory (small reads: a blob's header), nil when there is no such object.
    public func getBytes(_ key: String, range: ClosedRange<Int64>) async throws -> ByteBuffer? {
        var collected = ByteBuffer()
        guard try await getObject(key, range: range, { var piece = $0; collected.writeBuffer(&piece) }) else { return nil }
        return collected
    }

    /// The size of `key`, nil when there is no such object.
    public func headObject(_ key: String) async throws -> Int64? {
        let response = try await send("HEAD object", method: .HEAD, key: key)
        if response.status == .notFound { return nil }
        try await check(response, "HEAD object")
        return response.headers.first(name: "content-length").flatMap { Int64($0) }
    }

    /// Deletes `key`; deleting what is not there succeeds.
    public func deleteObject(_ key: String) async throws {
        let response = try await send("DELETE object", method: .DELETE, key: key)
        try await check(response, "DELETE object", allowing: [404])
        _ = try? await response.body.collect(upTo: 1 << 20)
    }

    /// Deletes up to 1000 keys in one request (DeleteObjects); keys that are not there count as deleted. Throws
    /// when the store reports any key it could not delete.
    public func deleteObjects(_ keys: [String]) async throws {
        guard !keys.isEmpty else { return }
        for batch in stride(from: 0, to: keys.count, by: 1000).map({ Array(keys[$0..<min($0 + 1000, keys.count)]) }) {
            let xml = "<Delete><Quiet>true</Quiet>"
                + batch.map { "<Object><Key>\(XMLFields.escape($0))</Key></Object>" }.joined() + "</Delete>"
            let body = ByteBuffer(string: xml)
            let md5 = Data(Insecure.MD5.hash(data: Data(xml.utf8))).base64EncodedString()
            let response = try await send("DELETE objects", method: .POST, key: nil, query: [("delete", "")],
                                          headers: [("content-md5", md5)], body: body)
            try await check(response, "DELETE objects")
            let text = String(buffer: try await response.body.collect(upTo: 16 << 20))
            let failed = XMLFields.blocks("Error", in: text).filter { XMLFields.first("Code", in: $0) != "NoSuchKey" }
            if let first = failed.first {
                throw S3Failure(kind: .server, operation: "DELETE objects",
                                detail: "\(failed.count) not deleted, e.g. \(XMLFields.first("Key", in: first) ?? "?"): "
                                    + (XMLFields.first("Message", in: first) ?? ""))
            }
        }
    }

    public struct Listing: Sendable {
        public var objects: [(key: String, size: Int64)]
        public var prefixes: [String]
    }

    /// Every object under `prefix` (all pages), or with `delimiter` the common prefixes below it too.
    public func list(prefix: String, delimiter: String? = nil) async throws -> Listing {
        var listing = Listing(objects: [], prefixes: [])
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let delimiter { query.append(("delimiter", delimiter)) }
            if let token { query.append(("continuation-token", token)) }
            let response = try await send("LIST objects", method: .GET, key: nil, query: query)
            try await check(response, "LIST objects")
            let text = String(buffer: try await response.body.collect(upTo: 16 << 20))
            for block in XMLFields.blocks("Contents", in: text) {
                guard let key = XMLFields.first("Key", in: block) else { continue }
                listing.objects.append((key, Int64(XMLFields.first("Size", in: block) ?? "") ?? 0))
            }
            for block in XMLFields.blocks("CommonPrefixes", in: text) {
                if let prefix = XMLFields.first("Prefix", in: block) { listing.prefixes.append(prefix) }
            }
            token = XMLFields.first("IsTruncated", in: text) == "true" ? XMLFields.first("NextContinuationToken", in: text) : nil
        } while token != nil
        return listing
    }

    // MARK: Multipart uploads

    public func createMultipartUpload(_ key: String) async throws -> String {
        let response = try await send("CREATE multipart", method: .POST, key: key, query: [("uploads", "")])
        try await check(response, "CREATE multipart")
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard let id = XMLFields.first("UploadId", in: text) else {
            throw S3Failure(kind: .protocolError, operation: "CREATE multipart", detail: "no UploadId in the answer")
        }
        return id
    }

    /// Uploads part `number` (from 1) and returns its ETag.
    public func uploadPart(_ key: String, uploadID: String, number: Int, _ body: ByteBuffer) async throws -> String {
        let response = try await send("UPLOAD part", method: .PUT, key: key,
                                      query: [("partNumber", String(number)), ("uploadId", uploadID)], body: body)
        try await check(response, "UPLOAD part")
        _ = try? await response.body.collect(upTo: 1 << 20)
        guard let etag = response.headers.first(name: "etag") else {
            throw S3Failure(kind: .protocolError, operation: "UPLOAD part", detail: "no ETag for part \(number)")
        }
        return etag
    }

    public func completeMultipartUpload(_ key: String, uploadID: String, etags: [String]) async throws {
        let parts = etags.enumerated().map {
            "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\(XMLFields.escape($0.element))</ETag></Part>"
        }.joined()
        let xml = "<CompleteMultipartUpload>\(parts)</CompleteMultipartUpload>"
        let response = try await send("COMPLETE multipart", method: .POST, key: key, query: [("uploadId", uploadID)],
                                      body: ByteBuffer(string: xml))
        try await check(response, "COMPLETE multipart")
        // S3 may answer 200 and put the failure in the body.
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        if XMLFields.first("Code", in: text) != nil, !text.contains("CompleteMultipartUploadResult") {
            throw S3Failure(kind: .server, operation: "COMPLETE multipart", detail: XMLFields.first("Message", in: text) ?? text)
        }
    }

    /// Aborts an upload; aborting one that is gone succeeds.
    public func abortMultipartUpload(_ key: String, uploadID: String) async throws {
        let response = try await send("ABORT multipart", method: .DELETE, key: key, query: [("uploadId", uploadID)])
        try await check(response, "ABORT multipart", allowing: [404])
        _ = try? await response.body.collect(upTo: 1 << 20)
    }

    /// The multipart uploads in progress under `prefix`, with when each began.
    public func listMultipartUploads(prefix: String) async throws -> [(key: String, uploadID: String, initiated: Date?)] {
        var uploads: [(key: String, uploadID: String, initiated: Date?)] = []
        var markers: (key: String, id: String)?
        repeat {
            var query = [("uploads", ""), ("prefix", prefix)]
            if let markers { query += [("key-marker", markers.key), ("upload-id-marker", markers.id)] }
            let response = try await send("LIST multipart", method: .GET, key: nil, query: query)
            try await check(response, "LIST multipart")
            let text = String(buffer: try await response.body.collect(upTo: 16 << 20))
            for block in XMLFields.blocks("Upload", in: text) {
                guard let key = XMLFields.first("Key", in: block), let id = XMLFields.first("UploadId", in: block) else { continue }
                uploads.append((key, id, XMLFields.first("Initiated", in: block).flatMap(XMLFields.date)))
            }
            if XMLFields.first("IsTruncated", in: text) == "true", let key = XMLFields.first("NextKeyMarker", in: text),
               let id = XMLFields.first("NextUploadIdMarker", in: text), (key, id) != (markers?.key ?? "", markers?.id ?? "") {
                markers = (key, id)
            } else {
                markers = nil
            }
        } while markers != nil
        return uploads
    }

    // MARK: Buckets

    /// Deletes the bucket after deleting every object and unfinished upload in it (tests and benchmarks clean up
    /// their own buckets this way; Ephemera itself never deletes a bucket).
    public func deleteBucketAndContents() async throws {
        for upload in try await listMultipartUploads(prefix: "") {
            try await abortMultipartUpload(upload.key, uploadID: upload.uploadID)
        }
        for object in try await list(prefix: "").objects { try await deleteObject(object.key) }
        let response = try await send("DELETE bucket", method: .DELETE, key: nil)
        try await check(response, "DELETE bucket", allowing: [404])
        _ = try? await response.body.collect(upTo: 1 << 20)
    }

    /// Whether the bucket exists (HEAD bucket); throws when it cannot be asked or these credentials may not use it.
    public func bucketExists() async throws -> Bool {
        let response = try await send("HEAD bucket", method: .HEAD, key: nil)
        if response.status == .notFound { return false }
        try await check(response, "HEAD bucket")
        return true
    }

    /// Creates the bucket; an existing bucket of ours is fine.
    public func createBucket() async throws {
        let response = try await send("CREATE bucket", method: .PUT, key: nil)
        if response.status == .conflict {
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            if text.contains("BucketAlreadyOwnedByYou") || text.contains("BucketAlreadyExists") { return }
            throw S3Failure(kind: .refused, operation: "CREATE bucket", detail: XMLFields.first("Message", in: text) ?? text)
        }
        try await check(response, "CREATE bucket")
        _ = try? await response.body.collect(upTo: 1 << 20)
    }
}

/// The few XML fields S3's answers carry, read without a DOM: the values of `<Name>…</Name>` elements.
enum XMLFields {
    static func blocks(_ name: String, in text: String) -> [String] {
        var found: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest.range(of: "</\(name)>", range: open.upperBound..<rest.endIndex) {
            found.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return found
    }

    static func first(_ name: String, in text: String) -> String? {
        blocks(name, in: text).first.map(unescape)
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
