import EphemeraCore
import EphemeraProcess
import Foundation
import Logging

/// Identifies an upload by probing its content with ffprobe (never by extension or client MIME type).
public struct FFprobeMediaProber: MediaProber {
    let runner: ProcessRunner

    public init(runner: ProcessRunner) { self.runner = runner }

    /// The CPU limit is what stops a hostile file; the wall limit is generous, as a busy machine slows probes
    /// down without anything being wrong with the file.
    static let limits = ProcessRunner.Limits(wallSeconds: 120, cpuSeconds: 20, memoryBytes: 1_500_000_000)

    /// Probes the file at `path`; throws `unsupported_media` when ffprobe cannot make sense of it.
    public func probe(path: String) async throws -> MediaProbe {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        let output: ProcessRunner.Output
        do {
            output = try await runner.run("ffprobe", [
                "-v", "error", "-hide_banner",
                // Only local files: a playlist inside the upload must not make ffprobe fetch or open anything else.
                "-protocol_whitelist", "file",
                "-probesize", "20000000", "-analyzeduration", "20000000",
                "-print_format", "json", "-show_format", "-show_streams",
                "file:" + path,
            ], limits: Self.limits)
        } catch let failure as ProcessRunner.Failure {
            runner.logger.info("ffprobe refused an upload", metadata: ["reason": "\(failure)"])
            // Out of time is the server's state, not the file's: say so instead of calling the file unsupported.
            if failure.timedOut {
                throw EphemeraError(.unavailable, "server_busy",
                                    "The server is too busy to check this file right now. Try again in a minute.")
            }
            throw Self.unreadable(failure.summary)
        }
        var probe = try Self.parse(json: Data(output.standardOutput.utf8), size: size)
        if probe.durationSeconds == nil, probe.streams.contains(where: { $0.kind == .video && !$0.attachedPicture }) {
            probe.durationSeconds = try? await measureDuration(path: path)
        }
        return probe
    }

    /// The length of a file whose header does not state it — browsers' MediaRecorder writes WebM without a
    /// duration — read from the last video packet's timestamp. Reads packets without decoding them.
    func measureDuration(path: String) async throws -> Double? {
        let output = try await runner.run("ffprobe", [
            "-v", "error", "-hide_banner", "-protocol_whitelist", "file",
            "-select_streams", "v:0", "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0",
            "file:" + path,
        ], limits: Self.limits)
        var end = 0.0
        for line in output.standardOutput.split(separator: "\n") {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) }
            guard let pts = fields.first ?? nil else { continue }
            end = max(end, pts + ((fields.count > 1 ? fields[1] : nil) ?? 0))
        }
        return end > 0 ? end : nil
    }

    static func unreadable(_ detail: String) -> EphemeraError {
        if detail.contains("moov atom not found") || detail.contains("Invalid data") && detail.contains("mov")
            || detail.contains("truncat") || detail.contains("End of file")
        {
            return .unprocessable("undecodable_media",
                "The video could not be read; it looks damaged or incomplete. Export it again and retry.")
        }
        return EphemeraError(.unsupportedMedia, "unsupported_media",
            "This file is not a photo or video we accept. Post a video (MP4, MOV, WebM, MKV) or a photo (JPEG, PNG, WebP).")
    }

    struct ProbeJSON: Decodable {
        struct Format: Decodable {
            var format_name: String?
            var duration: String?
        }
        struct Stream: Decodable {
            struct Disposition: Decodable { var attached_pic: Int? }
            struct SideData: Decodable { var rotation: Double? }
            var codec_type: String?
            var codec_name: String?
            var width: Int?
            var height: Int?
            var pix_fmt: String?
            var duration: String?
            var disposition: Disposition?
            var side_data_list: [SideData]?
            var tags: [String: String]?
        }
        var format: Format?
        var streams: [Stream]?
    }

    static func parse(json: Data, size: Int64) throws -> MediaProbe {
        guard let probe = try? JSONDecoder().decode(ProbeJSON.self, from: json), let format = probe.format,
              let name = format.format_name else {
            throw unreadable("")
        }
        let streams = (probe.streams ?? []).map { s -> MediaProbe.Stream in
            let kind: MediaProbe.Stream.Kind = switch s.codec_type {
            case "video": .video
            case "audio": .audio
            default: .other
            }
            var rotation = Int(s.side_data_list?.compactMap(\.rotation).first ?? 0)
            if rotation == 0, let tag = s.tags?["rotate"], let r = Int(tag) { rotation = r }
            return MediaProbe.Stream(
                kind: kind, codec: s.codec_name ?? "", width: s.width ?? 0, height: s.height ?? 0,
                pixelFormat: s.pix_fmt, rotation: ((rotation % 360) + 360) % 360,
                attachedPicture: (s.disposition?.attached_pic ?? 0) == 1)
        }
        let duration = format.duration.flatMap(Double.init)
            ?? probe.streams?.compactMap { $0.duration.flatMap(Double.init) }.max()
        return MediaProbe(formatName: name, durationSeconds: duration, streams: streams, sizeBytes: size)
    }
}
