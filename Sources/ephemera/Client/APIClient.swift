import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The CLI's view of an Ephemera server: JSON requests with the saved token, uploads and downloads that
/// report progress, and errors turned into sentences (the server's own message for a 4xx).
struct APIClient {
    let server: String
    let token: String?

    init(server: String, token: String?) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.token = token
    }

    init(_ config: ClientConfig) {
        self.init(server: config.server, token: config.token)
    }

    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: Data

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        func header(_ name: String) -> String? {
            headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
        var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    }

    func url(_ path: String) throws -> URL {
        let full = path.hasPrefix("http://") || path.hasPrefix("https://") ? path : server + path
        guard let url = URL(string: full), url.host != nil else {
            throw ClientFailure("'\(full)' is not a valid address. Check --server (for example http://127.0.0.1:8080).")
        }
        return url
    }

    func request(_ method: String, _ path: String, headers: [String: String] = [:]) throws -> URLRequest {
        var request = URLRequest(url: try url(path))
        request.httpMethod = method
        request.timeoutInterval = 120
        if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        return request
    }

    /// Sends a request and waits for the whole reply. `onSent` reports request body bytes as they go.
    func send(_ request: URLRequest, body: Data? = nil, onSent: ((Int64) -> Void)? = nil) async throws -> Reply {
        let transfer = Transfer(onSent: onSent)
        return try await transfer.run(request, body: body, server: server)
    }

    /// A JSON request that must succeed; a 4xx or 5xx becomes the server's message.
    @discardableResult
    func json(_ method: String, _ path: String, body: [String: Any]? = nil) async throws -> Reply {
        var request = try request(method, path, headers: ["Accept": "application/json"])
        var payload: Data?
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            payload = try JSONSerialization.data(withJSONObject: body)
        }
        let reply = try await send(request, body: payload)
        try Self.check(reply)
        return reply
    }

    static func check(_ reply: Reply) throws {
        guard reply.status >= 400 else { return }
        if reply.status == 401, ["invalid_token", "unauthenticated"].contains(reply.errorCode) {
            throw ClientFailure("The server does not accept this session (\(reply.errorMessage ?? "signed out")). "
                + "Run: ephemera login --server URL --handle NAME")
        }
        throw ClientFailure(reply.errorMessage ?? "The server answered \(reply.status).")
    }

    /// Streams a GET into `file` (appending), reporting `(received, total)`; returns the reply without a body.
    func download(_ request: URLRequest, appendingTo file: FileHandle,
                  onResponse: @escaping (Reply) throws -> Void, progress: @escaping (Int64) -> Void) async throws -> Reply {
        let transfer = Transfer(onSent: nil)
        transfer.sink = file
        transfer.onResponse = onResponse
        transfer.onReceived = progress
        return try await transfer.run(request, body: nil, server: server)
    }
}

/// One request on its own URLSession, so its delegate sees upload progress and can stream the body to disk.
final class Transfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let onSent: ((Int64) -> Void)?
    var sink: FileHandle?
    var onResponse: ((APIClient.Reply) throws -> Void)?
    var onReceived: ((Int64) -> Void)?
    private var response: HTTPURLResponse?
    private var body = Data()
    private var received: Int64 = 0
    private var failure: (any Error)?
    private var continuation: CheckedContinuation<APIClient.Reply, any Error>?
    private var server = ""

    init(onSent: ((Int64) -> Void)?) {
        self.onSent = onSent
    }

    func run(_ request: URLRequest, body: Data?, server: String) async throws -> APIClient.Reply {
        self.server = server
        let session = URLSession(configuration: .ephemeral, delegate: self, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        return try await withCheckedThrowingContinuation { continuation in
            self.continuation = continuation
            let task = body.map { session.uploadTask(with: request, from: $0) } ?? session.dataTask(with: request)
            task.resume()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didSendBodyData bytesSent: Int64,
                    totalBytesSent: Int64, totalBytesExpectedToSend: Int64) {
        onSent?(totalBytesSent)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        self.response = response as? HTTPURLResponse
        if let onResponse, let http = self.response, Self.carriesContent(http.statusCode) {
            do {
                try onResponse(APIClient.Reply(status: http.statusCode, headers: Self.headers(http), body: Data()))
            } catch {
                failure = error
                completionHandler(.cancel)
                return
            }
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        if let sink, let status = response?.statusCode, Self.carriesContent(status) {
            do {
                try sink.write(contentsOf: data)
                received += Int64(data.count)
                onReceived?(received)
            } catch {
                failure = ClientFailure("Cannot write the download: \(error).")
                dataTask.cancel()
            }
        } else {
            body.append(data)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let continuation else { return }
        self.continuation = nil
        if let failure {
            continuation.resume(throwing: failure)
        } else if let error {
            continuation.resume(throwing: Self.describe(error, server: server))
        } else if let response {
            continuation.resume(returning: APIClient.Reply(status: response.statusCode, headers: Self.headers(response),
                                                           body: body))
        } else {
            continuation.resume(throwing: ClientFailure("The server at \(server) sent no answer."))
        }
    }

    /// Whether a reply's body is the content asked for (2xx but 202, whose body only says it is not ready yet).
    static func carriesContent(_ status: Int) -> Bool { status < 300 && status != 202 }

    static func headers(_ response: HTTPURLResponse) -> [String: String] {
        var headers: [String: String] = [:]
        for (key, value) in response.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key] = value }
        }
        return headers
    }

    /// Network errors as a person would want to read them.
    static func describe(_ error: any Error, server: String) -> ClientFailure {
        let code = (error as? URLError)?.code ?? URLError.Code(rawValue: (error as NSError).code)
        switch code {
        case .cannotConnectToHost, .cannotFindHost, .dnsLookupFailed:
            return ClientFailure("Cannot reach the Ephemera server at \(server). Is it running, and is the address right?")
        case .timedOut:
            return ClientFailure("The server at \(server) did not answer in time. Try again.")
        case .networkConnectionLost, .notConnectedToInternet:
            return ClientFailure("The connection to \(server) was lost.")
        default:
            return ClientFailure("The request to \(server) failed: \(error.localizedDescription)")
        }
    }
}
