import ArgumentParser
import Crypto
import Foundation

/// `ephemera post FILE…`: uploads each file through tus (resumable), waits until its segments are live, and
/// prints their ids and links. Interrupted, the same command resumes where the server says it stopped.
struct Post: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Post photos or videos to your story (resumable: run it again after an interruption).")

    @OptionGroup var options: ClientOptions

    @Argument(help: "Photos or videos to post, each one a story segment (or several with --split).")
    var files: [String]

    @Option(help: "public, followers or closeFriends (default: your setting).")
    var audience: String?

    @Option(help: "A caption.")
    var caption: String?

    @Option(help: "What the picture shows, read aloud by screen readers (up to 1000 characters).")
    var altText: String?

    @Option(help: "How long it stays up: 6h, 12h, 24h or 48h (default: the server's).")
    var lifetime: String?

    @Option(help: "Go live later (up to 7 days ahead), e.g. 2026-12-24T18:00:00+01:00; it is yours alone until then.")
    var publishAt: String?

    @Flag(help: "Turn comments off for this post.")
    var noComments = false

    @Flag(help: "Turn downloads off for this post.")
    var noDownloads = false

    @Option(help: "none, mono, sepia, vivid, warm or cool.")
    var filter: String?

    @Option(help: "Text drawn on the story.")
    var text: String?

    @Option(help: "Where the text goes: top, center or bottom.")
    var textPosition: String?

    @Option(help: "Start the video at this second.")
    var trimStart: Double?

    @Option(help: "End the video at this second.")
    var trimEnd: Double?

    @Flag(help: "Cut a video longer than the limit into consecutive segments.")
    var split = false

    @Flag(help: "Return once uploaded, without waiting for processing.")
    var noWait = false

    /// Bytes per request: small enough that an interruption loses little, large enough to move fast.
    @Option(help: "Bytes sent per request (each one checksummed and resumable).")
    var chunkBytes: Int = 8 << 20

    func validate() throws {
        for file in files where !FileManager.default.isReadableFile(atPath: file) {
            throw ValidationError("Cannot read '\(file)'.")
        }
        guard chunkBytes >= 1024 else { throw ValidationError("--chunk-bytes must be at least 1024.") }
    }

    var fields: [String: String] {
        var fields: [String: String] = [:]
        fields["audience"] = audience
        fields["caption"] = caption
        fields["altText"] = altText
        fields["lifetime"] = lifetime
        fields["publishAt"] = publishAt
        if noComments { fields["allowComments"] = "false" }
        if noDownloads { fields["allowDownloads"] = "false" }
        fields["filter"] = filter
        fields["text"] = text
        fields["textPosition"] = textPosition
        fields["trimStart"] = trimStart.map { String($0) }
        fields["trimEnd"] = trimEnd.map { String($0) }
        if split { fields["split"] = "true" }
        return fields
    }

    func run() async throws {
        let config = try options.signedIn()
        let client = APIClient(config)
        var failed = false
        for file in files {
            let path = URL(fileURLWithPath: file).standardizedFileURL.path
            let ids = try await upload(path, client: client)
            guard !noWait else {
                for id in ids { print("\(id)  processing  \(client.server)/@\(config.handle ?? "me")/story?segment=\(id)") }
                continue
            }
            for id in ids {
                let segment = try await waitUntilProcessed(id, client: client)
                if segment.state == "failed" {
                    failed = true
                    print("\(id)  failed: \(segment.failureReason ?? "processing failed")")
                } else {
                    print(describe(segment, server: client.server))
                }
            }
        }
        if failed { throw ExitCode.failure }
    }

    /// Uploads one file, resuming a previous attempt; returns the ids of the segments it became.
    func upload(_ path: String, client: APIClient) async throws -> [String] {
        let name = (path as NSString).lastPathComponent
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        var pending = PendingUploads.load()
        let key = PendingUploads.key(server: client.server, path: path, fields: fields)

        var location: String?
        var offset: Int64 = 0
        if let saved = pending.uploads[key] {
            let head = try await client.send(try client.request("HEAD", saved, headers: ["Tus-Resumable": "1.0.0"]))
            if head.status == 200, let serverOffset = head.header("Upload-Offset").flatMap(Int64.init) {
                location = saved
                offset = serverOffset
                FileHandle.standardError.write(Data("\(name): resuming at \(ProgressDisplay.bytes(offset)) of \(ProgressDisplay.bytes(size))\n".utf8))
            }
        }
        if location == nil {
            var metadata = fields
            metadata["filename"] = name
            let encoded = metadata.sorted { $0.key < $1.key }
                .map { "\($0.key) \(Data($0.value.utf8).base64EncodedString())" }.joined(separator: ",")
            let reply = try await client.send(try client.request("POST", "/api/v1/uploads", headers: [
                "Tus-Resumable": "1.0.0", "Upload-Length": String(size), "Upload-Metadata": encoded,
                "Accept": "application/json"]))
            try APIClient.check(reply)
            guard let created = reply.header("Location") else { throw ClientFailure("The server did not say where to upload.") }
            location = created
            pending.uploads[key] = created
            try pending.save()
        }
        guard let location else { throw ClientFailure("No upload address.") }

        guard let file = FileHandle(forReadingAtPath: path) else { throw ClientFailure("Cannot read \(path).") }
        defer { try? file.close() }
        let progress = ProgressDisplay(label: name, total: size, start: offset)
        progress.update(offset)
        var segments: [String]?
        if offset == size {
            // Everything was sent before; ask what it became.
            let status = try await client.json("GET", location)
            segments = try status.decoded(Replies.UploadStatus.self).segments?.map(\.id)
        }
        while segments == nil {
            try file.seek(toOffset: UInt64(offset))
            let chunk = try file.read(upToCount: chunkBytes) ?? Data()
            let digest = Data(SHA256.hash(data: chunk)).base64EncodedString()
            let request = try client.request("PATCH", location, headers: [
                "Tus-Resumable": "1.0.0", "Upload-Offset": String(offset), "Upload-Checksum": "sha256 \(digest)",
                "Content-Type": "application/offset+octet-stream", "Accept": "application/json"])
            let start = offset
            let reply: APIClient.Reply
            do {
                reply = try await client.send(request, body: chunk) { sent in progress.update(start + sent) }
            } catch let failure as ClientFailure {
                throw ClientFailure("\(failure.description)\nThe upload of \(name) stopped at "
                    + "\(ProgressDisplay.bytes(offset)) of \(ProgressDisplay.bytes(size)); run the same command again to resume.")
            }
            if reply.status == 409, reply.errorCode == "upload_offset_mismatch" {
                let head = try await client.send(try client.request("HEAD", location, headers: ["Tus-Resumable": "1.0.0"]))
                guard let serverOffset = head.header("Upload-Offset").flatMap(Int64.init) else { try APIClient.check(head); continue }
                offset = serverOffset
                continue
            }
            if reply.status >= 400 {
                // The upload is gone or its content was refused: start afresh next time.
                pending.uploads[key] = nil
                try pending.save()
                try APIClient.check(reply)
            }
            offset = reply.header("Upload-Offset").flatMap(Int64.init) ?? (offset + Int64(chunk.count))
            progress.update(offset)
            if let ids = reply.header("Ephemera-Segments") {
                segments = ids.split(separator: ",").map(String.init)
            } else if chunk.isEmpty {
                throw ClientFailure("The server took every byte of \(name) but did not make a story of it.")
            }
        }
        progress.finish()
        pending.uploads[key] = nil
        try pending.save()
        return segments ?? []
    }

    /// Polls the segment until processing ends (a 15 s 1080p clip takes some seconds on a small server).
    func waitUntilProcessed(_ id: String, client: APIClient) async throws -> Replies.Segment {
        let deadline = Date().addingTimeInterval(600)
        while true {
            let segment = try await client.json("GET", "/api/v1/stories/\(id)").decoded(Replies.Segment.self)
            if segment.state != "processing" { return segment }
            guard Date() < deadline else { throw ClientFailure("\(id) is still processing after 10 minutes; check later with: ephemera story") }
            try await Task.sleep(for: .milliseconds(500))
        }
    }
}
