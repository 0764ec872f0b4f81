import ArgumentParser
import Foundation

/// What `ephemera login` saves: the server and the session token, in `~/.config/ephemera/config.json`
/// (`$XDG_CONFIG_HOME/ephemera` when set), readable by the owner only (0600, folder 0700). `server`, `token` and
/// `handle` are the session commands use when no server is named (the last login); sessions on other servers
/// stay in `otherSessions`, so `--server` (or `EPHEMERA_SERVER`) picks one without logging in again.
struct ClientConfig: Codable {
    var server: String
    var token: String?
    var handle: String?
    var otherSessions: [String: Session]?

    struct Session: Codable {
        var token: String?
        var handle: String?
    }

    /// A server's address as the client keeps it: without a trailing slash.
    static func normalized(_ server: String) -> String {
        var address = server
        while address.hasSuffix("/") { address.removeLast() }
        return address
    }

    /// The session on `server` (nil: the default one), as a config of its own; nil when there is none.
    func session(on server: String?) -> ClientConfig? {
        guard let server = server.map(Self.normalized), server != Self.normalized(self.server) else { return self }
        guard let session = otherSessions?[server] else { return nil }
        return ClientConfig(server: server, token: session.token, handle: session.handle)
    }

    /// This config after a login to `server`: that session becomes the default, and the one it replaces (on
    /// another server) is kept.
    func replacingDefault(server: String, token: String, handle: String) -> ClientConfig {
        var others = otherSessions ?? [:]
        let server = Self.normalized(server)
        if Self.normalized(self.server) != server, self.token != nil {
            others[Self.normalized(self.server)] = Session(token: self.token, handle: self.handle)
        }
        others[server] = nil
        return ClientConfig(server: server, token: token, handle: handle, otherSessions: others.isEmpty ? nil : others)
    }

    /// This config without the session on `server` (nil: the default one).
    func forgetting(server: String?) -> ClientConfig {
        var copy = self
        if let server = server.map(Self.normalized), server != Self.normalized(self.server) {
            copy.otherSessions?[server] = nil
        } else {
            copy.token = nil
        }
        return copy
    }

    static var directory: String {
        let environment = ProcessInfo.processInfo.environment
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty { return xdg + "/ephemera" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.config/ephemera"
    }

    static var path: String { directory + "/config.json" }

    static func load() throws -> ClientConfig? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(ClientConfig.self, from: data)
        } catch {
            throw ClientFailure("\(path) is not a valid Ephemera config (\(error)). Delete it and log in again.")
        }
    }

    /// The saved session on `server` (nil: the default one), or a failure that says how to log in.
    static func signedIn(server: String? = nil) throws -> ClientConfig {
        guard let config = try load()?.session(on: server), config.token != nil else {
            if let server {
                throw ClientFailure("Not logged in to \(normalized(server)). Run: ephemera login --server \(normalized(server)) --handle NAME")
            }
            throw ClientFailure("Not logged in. Run: ephemera login --server URL --handle NAME")
        }
        return config
    }

    func save() throws {
        try Self.writePrivate(try JSONEncoder.pretty.encode(self), to: Self.path)
    }

    /// Writes `data` readable by the owner only, replacing the file in one step.
    static func writePrivate(_ data: Data, to path: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw ClientFailure("Cannot write \(path). Check the permissions of \(directory).")
        }
        guard rename(temporary, path) == 0 else {
            throw ClientFailure("Cannot write \(path): \(String(cString: strerror(errno))).")
        }
    }
}

/// Uploads started by `ephemera post`, so running it again resumes them (`uploads.json` beside the config).
struct PendingUploads: Codable {
    var uploads: [String: String] = [:]

    static var path: String { ClientConfig.directory + "/uploads.json" }

    static func load() -> PendingUploads {
        guard let data = FileManager.default.contents(atPath: path),
              let pending = try? JSONDecoder().decode(PendingUploads.self, from: data) else { return PendingUploads() }
        return pending
    }

    func save() throws {
        try ClientConfig.writePrivate(try JSONEncoder.pretty.encode(self), to: Self.path)
    }

    /// The same file (path, size, modification time) with the same fields to the same server is the same upload.
    static func key(server: String, path: String, fields: [String: String]) -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes?[.size] as? Int64) ?? 0
        let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let described = fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
        return "\(server)|\(path)|\(size)|\(Int64(modified * 1000))|\(described)"
    }
}

/// `--server` on every client command (API.md's CLI): which server to talk to. Without it, `EPHEMERA_SERVER`;
/// without that, the server last logged in to.
struct ClientOptions: ParsableArguments {
    @Option(help: "The server's address, e.g. http://127.0.0.1:8080 [EPHEMERA_SERVER; default: the server you last logged in to].")
    var server: String?

    /// `--server`, else `EPHEMERA_SERVER` (when set and not empty), else nil.
    var chosenServer: String? {
        server ?? ProcessInfo.processInfo.environment["EPHEMERA_SERVER"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The saved session on the chosen server.
    func signedIn() throws -> ClientConfig { try ClientConfig.signedIn(server: chosenServer) }
}

/// A failure with a sentence a person can act on; the command prints it and exits 1.
struct ClientFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension JSONEncoder {
    static var pretty: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }
}
