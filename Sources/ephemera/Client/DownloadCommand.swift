import ArgumentParser
import Foundation

/// `ephemera download URL_OR_ID [-o FILE]`: saves a segment (watermarked; your own unmarked) with a progress
/// bar. The bytes go to `FILE.part` first; run again after an interruption and it continues with a Range
/// request, then renames the file into place.
struct Download: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Download a story segment (resumes a partial file).")

    @Argument(help: "A segment id, or a link to it: /@handle/story?segment=ID, /s/CODE, /media/ID/…, /api/v1/stories/ID.")
    var target: String

    @Option(name: .shortAndLong, help: "Where to save it (default: the name the server suggests, here).")
    var output: String?

    @Option(help: "The server, for a bare id when not logged in.")
    var server: String?

    func run() async throws {
        let config = try ClientConfig.load()
        let base = server ?? Self.origin(of: target) ?? config?.server
        guard let base else {
            throw ClientFailure("Give a full link, --server, or log in first: ephemera login --server URL --handle NAME")
        }
        let sameServer = config.map { APIClient(server: base, token: nil).server == APIClient($0).server } ?? false
        let client = APIClient(server: base, token: sameServer ? config?.token : nil)
        let id = try await Self.segmentID(target, client: client)
        let isAuthor: Bool
        if let handle = config?.handle, sameServer {
            let segment = try await client.json("GET", "/api/v1/stories/\(id)").json
            isAuthor = (segment["author"] as? [String: Any])?["handle"] as? String == handle
        } else {
            isAuthor = false
        }
        let path = "/api/v1/stories/\(id)/download" + (isAuthor ? "?original=true" : "")
        let destination = output ?? "ephemera-\(id)"
        let partial = (output ?? ".ephemera-\(id)") + ".part"

        let existing = (try? FileManager.default.attributesOfItem(atPath: partial)[.size] as? Int64) ?? 0
        if existing == 0 { FileManager.default.createFile(atPath: partial, contents: nil) }
        guard let file = FileHandle(forWritingAtPath: partial) else { throw ClientFailure("Cannot write \(partial).") }
        defer { try? file.close() }
        var headers = ["Accept": "*/*"]
        if existing > 0 { headers["Range"] = "bytes=\(existing)-" }

        var progress: ProgressDisplay?
        var suggested: String?
        var start = existing
        var reply: APIClient.Reply
        var waited = false
        while true {
            var request = try client.request("GET", path, headers: headers)
            request.timeoutInterval = 600
            reply = try await client.download(request, appendingTo: file, onResponse: { reply in
                if reply.status == 206 {
                    try file.seekToEnd()
                } else {
                    // The whole file is coming (a fresh download, or the server ignored the range).
                    try file.truncate(atOffset: 0)
                    start = 0
                }
                let total = Self.total(reply) ?? 0
                suggested = reply.header("Content-Disposition").flatMap(Self.filename)
                let display = ProgressDisplay(label: output ?? suggested ?? destination, total: total, start: start)
                if start > 0 {
                    FileHandle.standardError.write(Data("Resuming at \(ProgressDisplay.bytes(start)) of \(ProgressDisplay.bytes(total))\n".utf8))
                }
                display.update(start)
                progress = display
            }, progress: { received in progress?.update(start + received) })
            // 202: the server is making the watermarked copy; ask again when it says.
            guard reply.status == 202 else { break }
            if !waited { FileHandle.standardError.write(Data("Preparing the download…\n".utf8)) }
            waited = true
            let seconds = reply.header("Retry-After").flatMap(Int.init) ?? 2
            try await Task.sleep(for: .seconds(max(1, min(seconds, 30))))
        }
        if reply.status == 416 {
            // The partial file is already complete (or longer than the segment): start over.
            try? FileManager.default.removeItem(atPath: partial)
            throw ClientFailure("The partial download did not match; it was removed. Run the command again.")
        }
        try APIClient.check(reply)
        progress?.finish()
        let final = output ?? suggested ?? destination
        if FileManager.default.fileExists(atPath: final) { try FileManager.default.removeItem(atPath: final) }
        try FileManager.default.moveItem(atPath: partial, toPath: final)
        print("Saved \(final) (\(ProgressDisplay.bytes((try? FileManager.default.attributesOfItem(atPath: final)[.size] as? Int64) ?? 0))).")
    }

    static func total(_ reply: APIClient.Reply) -> Int64? {
        if let range = reply.header("Content-Range"), let slash = range.lastIndex(of: "/") {
            return Int64(range[range.index(after: slash)...])
        }
        return reply.header("Content-Length").flatMap(Int64.init)
    }

    static func filename(_ disposition: String) -> String? {
        guard let range = disposition.range(of: "filename=\"") else { return nil }
        let rest = disposition[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        let name = String(rest[..<end])
        // Only a plain name: never a path the server could use to write elsewhere.
        return name.isEmpty || name.contains("/") || name.hasPrefix(".") ? nil : name
    }

    /// `http://host:port` of a link, if `target` is one.
    static func origin(of target: String) -> String? {
        guard target.hasPrefix("http://") || target.hasPrefix("https://"), let url = URL(string: target),
              let scheme = url.scheme, let host = url.host else { return nil }
        return "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")"
    }

    /// The segment id in a link (or the id itself). A share link is resolved through its page.
    static func segmentID(_ target: String, client: APIClient) async throws -> String {
        let url = URL(string: target)
        let path = url?.path ?? target
        if let query = URLComponents(string: target)?.queryItems?.first(where: { $0.name == "segment" })?.value {
            return query
        }
        let parts = path.split(separator: "/").map(String.init)
        if let index = parts.firstIndex(of: "media"), index + 1 < parts.count { return parts[index + 1] }
        if let index = parts.firstIndex(of: "stories"), index + 1 < parts.count { return parts[index + 1] }
        if let index = parts.firstIndex(of: "s"), index + 1 < parts.count {
            let reply = try await client.send(try client.request("GET", "/s/\(parts[index + 1])"))
            try APIClient.check(reply)
            let page = String(decoding: reply.body, as: UTF8.self)
            guard let match = page.firstMatch(of: /\/media\/([A-Za-z0-9_-]+)\//) else {
                throw ClientFailure("The share page does not point to a segment.")
            }
            return String(match.output.1)
        }
        guard !target.contains("/"), !target.isEmpty else {
            throw ClientFailure("'\(target)' is not a segment id or a link to one.")
        }
        return target
    }
}
