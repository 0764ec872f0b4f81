import ArgumentParser
import Foundation

/// `ephemera login`: asks for the password without echo (or reads it from stdin) and saves the session.
struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign in to an Ephemera server and save the session in ~/.config/ephemera/config.json.")

    @OptionGroup var options: ClientOptions

    @Option(help: "Your handle.")
    var handle: String

    @Flag(help: "Read the password from standard input (for scripts) instead of asking.")
    var passwordStdin = false

    func run() async throws {
        guard let server = options.chosenServer else {
            throw ClientFailure("Which server? Give --server URL (or set EPHEMERA_SERVER), e.g. --server http://127.0.0.1:8080")
        }
        let password = try passwordStdin ? Self.readStandardInput() : Self.askPassword("Password for @\(handle): ")
        let client = APIClient(server: server, token: nil)
        let reply = try await client.json("POST", "/api/v1/sessions", body: ["handle": handle, "password": password])
        let token = try reply.decoded(Replies.Session.self).token
        let saved = try ClientConfig.load()
        let config = saved?.replacingDefault(server: client.server, token: token, handle: handle.lowercased())
            ?? ClientConfig(server: client.server, token: token, handle: handle.lowercased())
        try config.save()
        print("Logged in to \(client.server) as @\(handle.lowercased()).")
    }

    static func readStandardInput() throws -> String {
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw ClientFailure("No password on standard input.")
        }
        return line
    }

    /// Reads a line from the terminal with echo turned off.
    static func askPassword(_ prompt: String) throws -> String {
        let fd = open("/dev/tty", O_RDWR)
        guard fd >= 0 else {
            throw ClientFailure("There is no terminal to ask for the password. Pipe it in with --password-stdin.")
        }
        defer { close(fd) }
        _ = prompt.withCString { write(fd, $0, strlen($0)) }
        var original = termios()
        tcgetattr(fd, &original)
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(fd, TCSANOW, &silent)
        defer {
            tcsetattr(fd, TCSANOW, &original)
            _ = write(fd, "\n", 1)
        }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1, byte != UInt8(ascii: "\n") { bytes.append(byte) }
        let password = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
        guard !password.isEmpty else { throw ClientFailure("No password given.") }
        return password
    }
}

/// `ephemera logout`: ends the session on the server and forgets the token.
struct Logout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Sign out and forget the saved session.")

    @OptionGroup var options: ClientOptions

    func run() async throws {
        guard let saved = try ClientConfig.load(), let session = saved.session(on: options.chosenServer), session.token != nil else {
            print("Not logged in\(options.chosenServer.map { " to \(ClientConfig.normalized($0))" } ?? "").")
            return
        }
        // Forget the token even if the server cannot be told (it may be gone for good).
        do {
            try await APIClient(session).json("DELETE", "/api/v1/sessions/current")
        } catch let failure as ClientFailure {
            FileHandle.standardError.write(Data("warning: \(failure.description)\n".utf8))
        }
        try saved.forgetting(server: options.chosenServer).save()
        print("Logged out of \(session.server).")
    }
}

/// `ephemera tray`: the stories waiting for me.
struct Tray: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the stories in your tray, unseen first.")

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let config = try options.signedIn()
        let items = try await APIClient(config).json("GET", "/api/v1/tray").decoded(Replies.Items<Replies.TrayItem>.self).items
        guard !items.isEmpty else {
            print("Your tray is empty: nobody you follow has a story right now.")
            return
        }
        for item in items {
            let count = item.segmentCount
            let marker = item.ring == "unseen" ? "●" : "○"
            print("\(marker) @\(item.author.handle)  \(count) segment\(count == 1 ? "" : "s")  \(item.ring)  latest \(age(item.latestAt))")
        }
    }
}

/// `ephemera story HANDLE`: one author's story.
struct Story: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show someone's story, oldest segment first.")

    @OptionGroup var options: ClientOptions

    @Argument(help: "Whose story (with or without @).")
    var handle: String

    func run() async throws {
        let config = try options.signedIn()
        let name = handle.hasPrefix("@") ? String(handle.dropFirst()) : handle
        let segments = try await APIClient(config).json("GET", "/api/v1/users/\(name)/story").decoded(Replies.Story.self).segments
        guard !segments.isEmpty else {
            print("@\(name) has no story right now.")
            return
        }
        for segment in segments {
            print(describe(segment, server: config.server))
        }
    }
}

/// `ephemera delete ID`: moves a segment to recently deleted, or purges it with --permanent.
struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete one of your story segments.")

    @OptionGroup var options: ClientOptions

    @Argument(help: "The segment id.")
    var id: String

    @Flag(help: "Skip the restore window: purge it now, for good.")
    var permanent = false

    func run() async throws {
        let config = try options.signedIn()
        let reply = try await APIClient(config).json("DELETE", "/api/v1/stories/\(id)\(permanent ? "?permanent=true" : "")")
        if permanent {
            print("Purging \(id): its media key is destroyed and every copy removed; the receipt follows.")
        } else {
            let until = try reply.decoded(Replies.Deleted.self).restorableUntil ?? "the window ends"
            print("Deleted \(id). Restore it until \(until) with: ephemera restore \(id)")
        }
    }
}

/// `ephemera edit ID`: changes a posted segment's caption, alt text, audience, comments or downloads.
struct Edit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Edit one of your segments: caption, alt text, audience, comments, downloads.")

    @OptionGroup var options: ClientOptions

    @Argument(help: "The segment id.")
    var id: String

    @Option(help: "A new caption (\"\" removes it).") var caption: String?
    @Option(help: "New alt text (\"\" removes it).") var altText: String?
    @Option(help: "public, followers or closeFriends: takes effect at once.") var audience: String?
    @Option(help: "on or off.") var comments: String?
    @Option(help: "on or off.") var downloads: String?

    func validate() throws {
        for (name, value) in [("--comments", comments), ("--downloads", downloads)] where value != nil {
            guard value == "on" || value == "off" else { throw ValidationError("\(name) takes on or off.") }
        }
        guard [caption, altText, audience, comments, downloads].contains(where: { $0 != nil }) else {
            throw ValidationError("Say what to change: --caption, --alt-text, --audience, --comments or --downloads.")
        }
    }

    func run() async throws {
        let config = try options.signedIn()
        var body: [String: Any] = [:]
        body["caption"] = caption
        body["altText"] = altText
        body["audience"] = audience
        body["allowComments"] = comments.map { $0 == "on" }
        body["allowDownloads"] = downloads.map { $0 == "on" }
        let client = APIClient(config)
        let segment = try await client.json("PATCH", "/api/v1/stories/\(id)", body: body).decoded(Replies.Segment.self)
        print(describe(segment, server: client.server))
    }
}

/// `ephemera restore ID`: brings a recently deleted segment back.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Restore a recently deleted segment.")

    @OptionGroup var options: ClientOptions

    @Argument(help: "The segment id.")
    var id: String

    func run() async throws {
        let config = try options.signedIn()
        let segment = try await APIClient(config).json("POST", "/api/v1/stories/\(id)/restore").decoded(Replies.Segment.self)
        print("Restored \(id): \(segment.state == "live" ? "back in your story" : "in your archive (it had expired)").")
    }
}

/// `ephemera recently-deleted`: what can still be restored.
struct RecentlyDeleted: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recently-deleted", abstract: "List your deleted segments that can still be restored.")

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let config = try options.signedIn()
        let items = try await APIClient(config).json("GET", "/api/v1/me/recently-deleted?limit=100")
            .decoded(Replies.Items<Replies.Segment>.self).items
        guard !items.isEmpty else {
            print("Nothing recently deleted.")
            return
        }
        for item in items {
            let caption = item.caption.map { "  “\($0)”" } ?? ""
            print("\(item.id)  \(item.kind)  restorable until \(item.restorableUntil ?? "?")\(caption)")
        }
    }
}

/// "5m", "3h" since an RFC 3339 instant.
func age(_ text: String) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    guard let date = formatter.date(from: text) else { return text }
    let seconds = max(0, Int(Date().timeIntervalSince(date)))
    if seconds < 60 { return "just now" }
    if seconds < 3600 { return "\(seconds / 60)m ago" }
    if seconds < 86_400 { return "\(seconds / 3600)h ago" }
    return "\(seconds / 86_400)d ago"
}

/// One line for a segment: id, kind and length, state, age, caption, and where to watch it.
func describe(_ segment: Replies.Segment, server: String) -> String {
    let seen = segment.seen ? "seen" : "new"
    let caption = segment.caption.map { "  “\($0)”" } ?? ""
    let length = segment.kind == "video" ? String(format: " %.1fs", segment.durationSeconds) : ""
    let when = segment.state == "scheduled" ? segment.publishAt.map { " (goes live \($0))" } ?? "" : ""
    return "\(segment.id)  \(segment.kind)\(length)  \(segment.state)\(when)  \(seen)  \(age(segment.createdAt))\(caption)"
        + "  \(server)/@\(segment.author.handle)/story?segment=\(segment.id)"
}
