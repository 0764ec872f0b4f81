import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `ephemera serve` process on a free loopback port, for kill/restart and signal tests.
public final class ServerProcess: @unchecked Sendable {
    public let dataDirectory: String
    public let databaseURL: String?
    public private(set) var port: Int = 0
    private var process: Process?
    public private(set) var log: String = ""

    public let extraArguments: [String]
    /// Added to the test's own environment (the object store's credentials, which are never flags).
    public let extraEnvironment: [String: String]

    public init(dataDirectory: String, databaseURL: String?, extraArguments: [String] = [],
                extraEnvironment: [String: String] = [:]) {
        self.dataDirectory = dataDirectory
        self.databaseURL = databaseURL
        self.extraArguments = extraArguments
        self.extraEnvironment = extraEnvironment
    }

    /// The `ephemera` binary built next to the test bundle.
    public static var binary: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var url = bundle
        while !url.path.hasSuffix("/debug") && !url.path.hasSuffix("/release") && url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("ephemera").path
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts the server and waits until `/healthz` answers; `keepPort` restarts it where it was (links the
    /// server handed out, such as upload URLs, stay valid).
    public func start(keepPort: Bool = false) async throws {
        if !keepPort || port == 0 { port = try Self.freePort() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        var arguments = ["serve", "--data-dir", dataDirectory, "--port", String(port), "--host", "127.0.0.1"]
        if let databaseURL { arguments += ["--database-url", databaseURL] }
        process.arguments = arguments + extraArguments
        var environment = ProcessInfo.processInfo.environment
        environment["EPHEMERA_BCRYPT_COST"] = "4"
        environment.merge(extraEnvironment) { _, new in new }
        process.environment = environment
        let logFile = dataDirectory + "/server-\(port).log"
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        self.process = process
        for _ in 0..<200 {
            if (try? await request("GET", "/healthz").status) == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("the server did not start: \(readLog())")
    }

    public func readLog() -> String {
        (try? String(contentsOfFile: dataDirectory + "/server-\(port).log", encoding: .utf8)) ?? ""
    }

    /// kill -9: no chance to clean up.
    public func kill9() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// SIGTERM, then the exit status once it has drained.
    public func terminate() async throws -> Int32 {
        guard let process else { return -1 }
        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<300 where process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        guard !process.isRunning else { throw TestFailure("the server did not stop after SIGTERM") }
        self.process = nil
        return process.terminationStatus
    }

    public struct Reply: Sendable {
        public var status: Int
        public var body: Data
        public var headers: [String: String] = [:]
    }

    public func request(_ method: String, _ path: String, token: String? = nil, json: [String: String]? = nil,
                        body: Data? = nil, contentType: String? = nil, headers: [String: String] = [:]) async throws
        -> Reply
    {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let body {
            request.httpBody = body
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var fields: [String: String] = [:]
        for (key, value) in http?.allHeaderFields ?? [:] {
            if let key = key as? String, let value = value as? String { fields[key] = value }
        }
        return Reply(status: http?.statusCode ?? 0, body: data, headers: fields)
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw TestFailure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Ids of the running processes whose command line contains `text`.
public func processes(containing text: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> Int32? in
        guard let pid = Int32(entry),
              let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
        let cmdline = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        return cmdline.contains(text) ? pid : nil
    }
}

extension ServerProcess {
    /// Sends a `Transfer-Encoding: chunked` POST (no Content-Length, so the server cannot refuse up front)
    /// in 64 KiB chunks until the server answers or `maxBytes` are sent. Returns the status code and how many
    /// body bytes had been sent when the answer came.
    public func streamChunkedPost(path: String, token: String, contentType: String, maxBytes: Int,
                                  repeating piece: [UInt8] = [UInt8](repeating: 0x41, count: 64 * 1024)) throws
        -> (status: Int, bytesSent: Int)
    {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestFailure("cannot connect") }
        func send(_ bytes: [UInt8]) -> Bool {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        func readable() -> Bool {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            return poll(&poller, 1, 0) > 0
        }
        let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: \(contentType)\r\nTransfer-Encoding: chunked\r\n\r\n"
        _ = send(Array(head.utf8))
        let chunk = piece
        var sent = 0
        while sent < maxBytes, !readable() {
            guard send(Array((String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + Array("\r\n".utf8)) else { break }
            sent += chunk.count
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&poller, 1, 10_000)
        let n = recv(fd, &buffer, buffer.count, 0)
        let reply = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
        let status = reply.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return (status, sent)
    }

    /// Runs `ephemera ARGS` to completion and returns its exit status and combined output.
    public static func runCommand(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try run(binary, arguments)
    }

    /// Runs `ephemera ARGS` as a client would: with its own environment (HOME for the saved session) and
    /// `input` on standard input.
    public static func runClient(_ arguments: [String], home: String, input: String? = nil, in directory: String? = nil,
                                 environment: [String: String] = [:]) throws -> (status: Int32, output: String)
    {
        let process = try launchClient(arguments, home: home, input: input, in: directory, environment: environment)
        let data = process.output.fileHandleForReading.readDataToEndOfFile()
        process.process.waitUntilExit()
        return (process.process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Starts `ephemera ARGS` as a client and returns at once (to interrupt it, or its server, midway).
    public static func launchClient(_ arguments: [String], home: String, input: String? = nil, in directory: String? = nil,
                                    environment extra: [String: String] = [:]) throws -> (process: Process, output: Pipe)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = home
        environment["XDG_CONFIG_HOME"] = nil
        environment["EPHEMERA_SERVER"] = nil
        environment.merge(extra) { _, new in new }
        process.environment = environment
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try? stdin.fileHandleForWriting.close()
        return (process, pipe)
    }

    /// Runs a tool from the PATH and returns its output.
    public static func runTool(_ name: String, _ arguments: [String]) throws -> String {
        try run("/usr/bin/env", [name] + arguments).output
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
