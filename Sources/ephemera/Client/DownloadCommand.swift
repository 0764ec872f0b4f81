import ArgumentParser
import Crypto
import EphemeraMedia
import EphemeraStore
import Foundation

/// `ephemera download URL_OR_ID [-o FILE]`: saves a segment (watermarked; your own unmarked) with a progress
/// bar. The server hands over the segment's key and a link to the ciphertext (API.md, "Media for clients that
/// decrypt"): the encrypted bytes go to `FILE.part`, and only when they are all there are they authenticated and
/// decrypted here into `FILE`. Run again after an interruption and it continues with a Range request — after
/// checking that the partial file is the same blob (its 24-byte header) — without counting a second download.
struct Download: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Download a story segment (resumes a partial file).")

    @Argument(help: "A segment id, or a link to it: /@handle/story?segment=ID, /s/CODE, /media/ID/…, /api/v1/stories/ID.")
    var target: String

    @Option(name: .shortAndLong, help: "Where to save it (default: the name the server suggests, here).")
    var output: String?

    @OptionGroup var options: ClientOptions

    /// The API's answer to `?encrypted=true`.
    struct EncryptedDownload: Decodable {
        var mediaKey: String
        var url: String
        var filename: String
    }

    struct SegmentAuthor: Decodable {
        struct Author: Decodable { var handle: String }
        var author: Author
    }

    func run() async throws {
        let saved = try ClientConfig.load()
        // A full link names its server; --server wins over it, EPHEMERA_SERVER does not.
        let base = options.server ?? Self.origin(of: target) ?? options.chosenServer ?? saved?.server
        guard let base else {
            throw ClientFailure("Give a full link, --server, or log in first: ephemera login --server URL --handle NAME")
        }
        // The session on that server, if there is one (a download needs none when the story is public).
        let config = saved?.session(on: base)
        let sameServer = config?.token != nil
        let client = APIClient(server: base, token: sameServer ? config?.token : nil)
        let id = try await Self.segmentID(target, client: client)
        var isAuthor = false
        if let handle = config?.handle, sameServer {
            let reply = try await client.json("GET", "/api/v1/stories/\(id)")
            isAuthor = try JSONDecoder().decode(SegmentAuthor.self, from: reply.body).author.handle == handle
        }
        let partial = (output ?? ".ephemera-\(id)") + ".part"
        var existing = (try? FileManager.default.attributesOfItem(atPath: partial)[.size] as? Int64) ?? 0

        // The key and the link: counted as a download unless this continues one.
        let download = try await Self.ask(client, segmentID: id, original: isAuthor, resuming: existing > 0)
        let key = try Self.key(download.mediaKey)
        let final = output ?? download.filename
        // The link is this server's (no session needed) or the object store's: never send it the session token.
        let store = APIClient(server: base, token: nil)

        if existing > 0 {
            // Resume only the same blob: its header (salt and length) must match what the partial file begins with.
            let header = try await store.send(try store.request("GET", download.url, headers: ["Range": "bytes=0-23"]))
            let kept = try FileHandle(forReadingFrom: URL(fileURLWithPath: partial))
            let start = try kept.read(upToCount: ChunkedCipher.headerLength) ?? Data()
            try kept.close()
            if header.status != 206 || header.body != start || start.count < ChunkedCipher.headerLength {
                FileHandle.standardError.write(Data("The partial file is not this download; starting over.\n".utf8))
                try FileManager.default.removeItem(atPath: partial)
                existing = 0
            }
        }
        if existing == 0 { FileManager.default.createFile(atPath: partial, contents: nil) }
        guard let file = FileHandle(forWritingAtPath: partial) else { throw ClientFailure("Cannot write \(partial).") }
        defer { try? file.close() }

        var progress: ProgressDisplay?
        var start = existing
        var request = try store.request("GET", download.url, headers: existing > 0 ? ["Range": "bytes=\(existing)-"] : [:])
        request.timeoutInterval = 600
        let reply = try await store.download(request, appendingTo: file, onResponse: { reply in
            if reply.status == 206 {
                try file.seekToEnd()
            } else {
                // The whole blob is coming (a fresh download, or the store ignored the range).
                try file.truncate(atOffset: 0)
                start = 0
            }
            let total = Self.total(reply) ?? 0
            let display = ProgressDisplay(label: final, total: total, start: start)
            if start > 0 {
                FileHandle.standardError.write(Data("Resuming at \(ProgressDisplay.bytes(start)) of \(ProgressDisplay.bytes(total))\n".utf8))
            }
            display.update(start)
            progress = display
        }, progress: { received in progress?.update(start + received) })
        // 416: nothing left to fetch — the partial file already holds the whole blob (checked when decrypting).
        if reply.status != 416 {
            if reply.status == 403 || reply.status == 404 {
                throw ClientFailure("The media link was refused (\(reply.status)); the segment may just have been deleted. Run the command again.")
            }
            try APIClient.check(reply)
        }
        progress?.finish()
        try file.close()

        try await Self.decrypt(partial, into: final, key: key)
        try FileManager.default.removeItem(atPath: partial)
        print("Saved \(final) (\(ProgressDisplay.bytes((try? FileManager.default.attributesOfItem(atPath: final)[.size] as? Int64) ?? 0))).")
    }

    /// `GET …/download?encrypted=true`, waiting while the server makes the watermarked copy (202 + Retry-After).
    static func ask(_ client: APIClient, segmentID: String, original: Bool, resuming: Bool) async throws -> EncryptedDownload {
        let path = "/api/v1/stories/\(segmentID)/download?encrypted=true" + (original ? "&original=true" : "")
            + (resuming ? "&resume=true" : "")
        var waited = false
        while true {
            let reply = try await client.send(try client.request("GET", path, headers: ["Accept": "application/json"]))
            try APIClient.check(reply)
            guard reply.status == 202 else {
                do {
                    return try JSONDecoder().decode(EncryptedDownload.self, from: reply.body)
                } catch {
                    throw ClientFailure("The server's answer is not a download (is it an older Ephemera?): \(error).")
                }
            }
            if !waited { FileHandle.standardError.write(Data("Preparing the download…\n".utf8)) }
            waited = true
            let seconds = reply.header("Retry-After").flatMap(Int.init) ?? 2
            try await Task.sleep(for: .seconds(max(1, min(seconds, 30))))
        }
    }

    /// The data key from its base64url text.
    static func key(_ text: String) throws -> SymmetricKey {
        guard let bytes = Data(base64URLEncoded: text), bytes.count == 32 else {
            throw ClientFailure("The server sent a media key that is not 32 bytes of base64url.")
        }
        return SymmetricKey(data: bytes)
    }

    /// Authenticates and decrypts the whole blob into `destination` (through a temporary file beside it, so a
    /// failure never leaves a half-written file under the final name). A damaged or mixed-up partial file is
    /// removed, with a message saying to run the command again.
    static func decrypt(_ partial: String, into destination: String, key: SymmetricKey) async throws {
        let temporary = destination + ".decrypting"
        FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600])
        guard let out = FileHandle(forWritingAtPath: temporary) else { throw ClientFailure("Cannot write \(temporary).") }
        do {
            let blob = try FileHandle(forReadingFrom: URL(fileURLWithPath: partial))
            defer { try? blob.close() }
            let header = try ChunkedCipher.header(of: blob)
            let size = try blob.seekToEnd()
            guard Int64(size) == header.ciphertextLength else {
                throw ChunkedCipher.CipherError.io("\(size) bytes where the header says \(header.ciphertextLength)")
            }
            try await ChunkedCipher.decryptAll(handle: blob, header: header, key: key) { try out.write(contentsOf: $0) }
            try out.synchronize()
            try out.close()
        } catch let error as ChunkedCipher.CipherError {
            try? out.close()
            try? FileManager.default.removeItem(atPath: temporary)
            try? FileManager.default.removeItem(atPath: partial)
            throw ClientFailure("The download did not decrypt (\(error)); the partial file was removed. Run the command again.")
        } catch {
            try? out.close()
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        if FileManager.default.fileExists(atPath: destination) { try FileManager.default.removeItem(atPath: destination) }
        try FileManager.default.moveItem(atPath: temporary, toPath: destination)
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
