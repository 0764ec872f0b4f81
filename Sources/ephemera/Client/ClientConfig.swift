import Foundation

/// What `ephemera login` saves: the server and the session token, in `~/.config/ephemera/config.json`
/// (`$XDG_CONFIG_HOME/ephemera` when set), readable by the owner only (0600, folder 0700).
struct ClientConfig: Codable {
    var server: String
    var token: String?
    var handle: String?

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

    /// The saved session, or a failure that says how to log in.
    static func signedIn() throws -> ClientConfig {
        guard let config = try load(), config.token != nil else {
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
