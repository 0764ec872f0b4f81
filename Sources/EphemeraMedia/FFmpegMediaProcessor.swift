import EphemeraCore
import EphemeraProcess
import Foundation
import Logging

/// Normalises uploads with ffmpeg (DESIGN.md, "Media pipeline"): H.264 + AAC MP4 with `+faststart` at most
/// 1080×1920 and a poster JPEG for videos, a JPEG at most 1080×1920 for photos, all metadata stripped.
/// Hardened: only local files (`-protocol_whitelist file,pipe`), the demuxer probing found is forced, input
/// length capped, CPU and memory limited, one encode at a time (the worker runs one job at a time).
public struct FFmpegMediaProcessor: Transcoder {
    let runner: ProcessRunner
    let prober: FFprobeMediaProber

    public init(runner: ProcessRunner) {
        self.runner = runner
        self.prober = FFprobeMediaProber(runner: runner)
    }

    /// Whether ffmpeg wrote something at `path`.
    static func wrote(_ path: String) -> Bool {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) > 0
    }

    /// Fit inside 1080×1920 without upscaling, even dimensions, square pixels.
    static let frameFilter =
        "scale=w='min(1080,iw)':h='min(1920,ih)':force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1"

    static let common = ["-nostdin", "-hide_banner", "-v", "error", "-y"]

    static func limits(seconds: Double) -> ProcessRunner.Limits {
        ProcessRunner.Limits(wallSeconds: max(120, seconds * 30), cpuSeconds: Int(max(240, seconds * 60)),
                             memoryBytes: 3_000_000_000)
    }

    /// Makes `video.mp4` and `poster.jpg` for one piece of a video upload. The poster comes from a second reading
    /// of the source that seeks to the poster's instant, not from a pass over the finished file: a second output
    /// of the encode's run (through the same frame filters, so it shows the edits), or, when the picture is only
    /// copied, a second ffmpeg run beside the copy.
    public func makeVideo(source: String, sound: String? = nil, plan: VideoPlan, piece: ClipRange, videoOut: String,
                          posterOut: String, textFile: String? = nil) async throws -> ProcessedMedia
    {
        if let text = plan.edits?.text, let textFile { try Self.writeText(text, to: textFile) }
        defer { if let textFile { try? FileManager.default.removeItem(atPath: textFile) } }
        var args = Self.common
        args += ["-protocol_whitelist", "file,pipe", "-f", plan.demuxer]
        if piece.start > 0 { args += ["-ss", String(format: "%.3f", piece.start)] }
        args += ["-t", String(format: "%.3f", piece.length), "-i", "file:" + source]
        let length = String(format: "%.3f", piece.length)
        // The poster: a frame a third of the way in, at most a second in (past a fade from black).
        let posterAt = MediaRules.posterInstant(seconds: piece.length)
        if !plan.hasAudio {
            // Every segment gets an AAC track so players behave the same; silence when there was none.
            args += ["-f", "lavfi", "-t", length, "-i", "anullsrc=channel_layout=stereo:sample_rate=48000"]
        }
        let baseAudio = plan.hasAudio ? "0:a:0" : "1:a:0"
        // The poster's input: the source read a second time from the keyframe before its instant, for half a second
        // only (unbounded, ffmpeg 5 would decode that input to its end).
        let posterInput = ["-protocol_whitelist", "file", "-f", plan.demuxer,
                           "-ss", String(format: "%.3f", piece.start + posterAt), "-t", "0.5", "-i", "file:" + source]
        let posterOutput = ["-frames:v", "1", "-map_metadata", "-1", "-q:v", "3", "-f", "image2", "-c:v", "mjpeg",
                            "file:" + posterOut]
        let limits = Self.limits(seconds: piece.length)
        // The poster's own run, beside the remux (nil: the poster is an output of the encode's run).
        let separatePoster: [String]?
        let poster: [String]
        if plan.canRemux {
            // Already compliant: copy the picture (a tenth of a second instead of an encode). The poster, which
            // has to decode up to a second of frames, is a second ffmpeg beside it: run after the copy in one
            // process it doubled the time to live (0.25 s against 0.07 s for the copy alone, by hand).
            args += ["-map", "0:v:0", "-map", baseAudio, "-c:v", "copy"]
            args += plan.hasAudio ? ["-c:a", "copy"] : ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000", "-shortest"]
            separatePoster = Self.common + posterInput + ["-map", "0:v:0", "-vf", Self.frameFilter] + posterOutput
            poster = []
        } else {
            var frames = Self.frameFilter + Self.filterChain(plan.edits?.filter ?? .none)
            if let text = plan.edits?.text, let textFile {
                frames += "," + Self.drawText(text, position: plan.edits?.textPosition ?? .bottom, file: textFile)
            }
            separatePoster = nil
            var graph = "[0:v:0]" + frames + "[v]"
            var audio = "[\(baseAudio)]aresample=48000"
            var nextInput = plan.hasAudio ? 1 : 2
            if let soundFile = sound, plan.edits?.hasSound == true {
                let soundInput = nextInput
                nextInput += 1
                args += ["-protocol_whitelist", "file", "-f", plan.edits?.soundDemuxer ?? "mov", "-i", "file:" + soundFile]
                let sound = "[\(soundInput):a:0]aresample=48000,apad,atrim=0:\(length),asetpts=N/SR/TB"
                if plan.edits?.soundMode == .replace {
                    audio = sound
                } else {
                    graph += ";" + sound + "[s]"
                    audio += "[o];[o][s]amix=inputs=2:duration=first:dropout_transition=0"
                }
            }
            graph += ";" + audio + "[a]"
            // The poster: a second input, through the same frame filters (so it shows the edits). Measured on a
            // 15 s 1080×1920 clip, this adds nothing noticeable, where a `split` branch of the encode's frames cost
            // 1.5 s: every frame was copied to a branch that kept only one.
            args += posterInput
            graph += ";[\(nextInput):v:0]" + frames + ",trim=end_frame=1[p]"
            args += ["-filter_complex", graph, "-map", "[v]", "-map", "[a]", "-fpsmax", "60",
                     "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high", "-pix_fmt", "yuv420p",
                     "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000", "-shortest"]
            poster = ["-map", "[p]"] + posterOutput
        }
        args += ["-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact",
                 "-movflags", "+faststart", "-f", "mp4", "file:" + videoOut]
        args += poster
        // Both runs are always awaited, so no ffmpeg outlives this call (its caller removes what they wrote).
        async let posterRun: Void = { if let separatePoster { _ = try await runner.run("ffmpeg", separatePoster, limits: limits) } }()
        let summary: MP4Summary
        do {
            _ = try await runner.run("ffmpeg", args, limits: limits)
            summary = try await Self.describe(video: videoOut, encoded: !plan.canRemux, prober: prober)
        } catch {
            try? await posterRun
            throw error
        }
        try await posterRun
        if !Self.wrote(posterOut) {
            // The poster's instant was past the picture's end: a video track shorter than the file (its sound goes
            // on). The first frame of the piece, through the same frame filters, instead.
            var frames = Self.frameFilter
            if !plan.canRemux {
                frames += Self.filterChain(plan.edits?.filter ?? .none)
                if let text = plan.edits?.text, let textFile {
                    frames += "," + Self.drawText(text, position: plan.edits?.textPosition ?? .bottom, file: textFile)
                }
            }
            let first = ["-protocol_whitelist", "file", "-f", plan.demuxer, "-ss", String(format: "%.3f", piece.start),
                         "-t", length, "-i", "file:" + source]
            _ = try await runner.run("ffmpeg", Self.common + first + ["-map", "0:v:0", "-vf", frames] + posterOutput, limits: limits)
        }
        guard Self.wrote(posterOut) else {
            throw ProcessRunner.Failure(program: "ffmpeg", status: "no poster", summary: "no poster frame was written",
                                        timedOut: false)
        }
        return ProcessedMedia(durationMilliseconds: Int64((summary.durationSeconds * 1000).rounded()),
                              width: summary.width, height: summary.height)
    }

    /// Up to `length` leading bytes of a file we wrote (empty when it is not there), read off the request threads.
    static func firstBytes(of path: String, upTo length: Int) async throws -> [UInt8] {
        try await BlockingIO.read {
            guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
            defer { try? handle.close() }
            return [UInt8](try handle.read(upToCount: length) ?? Data())
        }
    }

    /// The duration and displayed size of a video we just wrote. An encode's output (`+faststart`, no rotation)
    /// is read from its `moov` box (`MP4Summary`); a copy, which may carry its source's rotation, and anything
    /// the box reader does not understand are asked of ffprobe.
    static func describe(video path: String, encoded: Bool, prober: any MediaProber) async throws -> MP4Summary {
        if encoded, let prefix = try? await firstBytes(of: path, upTo: 1 << 20),
           let summary = MP4Summary.read(prefix: prefix) {
            return summary
        }
        let output = try await prober.probe(path: path)
        guard let stream = output.streams.first(where: { $0.kind == .video }), let duration = output.durationSeconds else {
            throw ProcessRunner.Failure(program: "ffmpeg", status: "no video", summary: "the output has no video stream",
                                        timedOut: false)
        }
        let (width, height) = stream.rotation == 90 || stream.rotation == 270
            ? (stream.height, stream.width) : (stream.width, stream.height)
        return MP4Summary(durationSeconds: duration, width: width, height: height)
    }

    /// Makes `photo.jpg` from a photo upload.
    public func makePhoto(source: String, plan: PhotoPlan, photoOut: String, textFile: String? = nil)
        async throws -> ProcessedMedia
    {
        var filter = Self.frameFilter + Self.filterChain(plan.edits?.filter ?? .none)
        if let text = plan.edits?.text, let textFile {
            try Self.writeText(text, to: textFile)
            filter += "," + Self.drawText(text, position: plan.edits?.textPosition ?? .bottom, file: textFile)
        }
        defer { if let textFile { try? FileManager.default.removeItem(atPath: textFile) } }
        _ = try await runner.run("ffmpeg", Self.common + [
            "-protocol_whitelist", "file,pipe", "-f", plan.demuxer, "-i", "file:" + source,
            "-frames:v", "1", "-vf", filter, "-map_metadata", "-1", "-fflags", "+bitexact",
            "-q:v", "3", "-f", "image2", "-c:v", "mjpeg", "file:" + photoOut,
        ], limits: Self.limits(seconds: 10))
        // The JPEG we just wrote names its size in its frame header (`ImageHeader`); ffprobe only if it does not.
        if let prefix = try? await Self.firstBytes(of: photoOut, upTo: ImageHeader.prefixLength),
           let size = ImageHeader.dimensions(in: prefix), size.width > 0, size.height > 0 {
            return ProcessedMedia(
                durationMilliseconds: Int64(Segment.photoDisplaySeconds * 1000), width: size.width, height: size.height)
        }
        let output = try await prober.probe(path: photoOut)
        guard let stream = output.streams.first(where: { $0.kind == .video }) else {
            throw ProcessRunner.Failure(program: "ffmpeg", status: "no image", summary: "the output has no picture",
                                        timedOut: false)
        }
        return ProcessedMedia(
            durationMilliseconds: Int64(Segment.photoDisplaySeconds * 1000), width: stream.width, height: stream.height)
    }

    /// The colour filter of a preset, appended to the frame filter.
    static func filterChain(_ filter: CreativeEdits.Filter) -> String {
        switch filter {
        case .none: ""
        case .mono: ",hue=s=0"
        case .sepia: ",colorchannelmixer=.393:.769:.189:0:.349:.686:.168:0:.272:.534:.131"
        case .vivid: ",eq=saturation=1.45:contrast=1.08"
        case .warm: ",colorbalance=rs=.12:gs=.03:bs=-.10:rm=.08:bm=-.06"
        case .cool: ",colorbalance=rs=-.10:gs=.0:bs=.12:rm=-.06:bm=.08"
        }
    }

    /// Characters per line of overlay text (the font size follows the width, so this holds for any frame).
    static let textLineLength = 22

    /// Writes the wrapped overlay text to `file`: drawtext reads it from there with expansion off, so nothing
    /// in it (quotes, `%{pts}`, backslashes, shell syntax) is ever interpreted.
    static func writeText(_ text: String, to file: String) throws {
        try Data(CreativeEdits.wrappedText(text, lineLength: textLineLength).utf8).write(to: URL(fileURLWithPath: file))
    }

    static func drawText(_ text: String, position: CreativeEdits.TextPosition, file: String) -> String {
        let y = switch position {
        case .top: "h*0.08"
        case .center: "(h-text_h)/2"
        case .bottom: "h*0.86-text_h"
        }
        return "drawtext=fontfile=\(fontFile):textfile=\(file):expansion=none:fontcolor=white:fontsize=w/18"
            + ":line_spacing=10:borderw=3:bordercolor=black@0.7:box=1:boxcolor=black@0.3:boxborderw=16"
            + ":x=(w-text_w)/2:y=\(y)"
    }

    /// The font of watermarks, text overlays and text stories (Debian's fonts-dejavu-core).
    public static let fontFile = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

    /// What `fontFile` draws, from its `cmap`, read once (nothing when the font is missing: every text story is
    /// then refused with the characters named).
    static let fontCoverage: GlyphCoverage = {
        guard let bytes = FileManager.default.contents(atPath: fontFile) else { return GlyphCoverage(ranges: []) }
        return GlyphCoverage.parse(font: Array(bytes)) ?? GlyphCoverage(ranges: [])
    }()

    public var textCoverage: GlyphCoverage { Self.fontCoverage }

    /// A text story: its background a diagonal gradient of the preset's two colours, each line of its text
    /// centred, the block centred in the frame. One drawtext a line (ffmpeg 5 sets a block's lines flush
    /// left), each reading its own file with expansion off.
    public func drawTextStory(_ story: TextStory, textFile: String, output: String) async throws {
        let (text, fontSize) = story.layout
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let lineHeight = fontSize * 13 / 10
        let top = (TextStory.height - lines.count * lineHeight) / 2
        var files: [String] = []
        defer { for file in files { try? FileManager.default.removeItem(atPath: file) } }
        var draws: [String] = []
        for (index, line) in lines.enumerated() where !line.isEmpty {
            let file = "\(textFile).\(index)"
            try Data(line.utf8).write(to: URL(fileURLWithPath: file))
            files.append(file)
            draws.append("drawtext=fontfile=\(Self.fontFile):textfile=\(file):expansion=none"
                + ":fontcolor=0x\(story.background.textColor):fontsize=\(fontSize)"
                + (story.background == .paper ? "" : ":shadowcolor=black@0.3:shadowx=0:shadowy=\(fontSize / 24)")
                // Every line on its own baseline, whatever its letters reach above it.
                + ":x=(w-text_w)/2:y=\(top + index * lineHeight + fontSize)-max_glyph_a")
        }
        let (from, to) = story.background.colors
        let background = "gradients=s=\(TextStory.width)x\(TextStory.height):c0=0x\(from):c1=0x\(to):n=2"
            + ":x0=0:y0=0:x1=\(TextStory.width):y1=\(TextStory.height):speed=0.00001:d=1"
        _ = try await runner.run("ffmpeg", Self.common + [
            "-f", "lavfi", "-i", background, "-frames:v", "1", "-vf", draws.joined(separator: ","),
            "-protocol_whitelist", "file", "-f", "image2", "-c:v", "png", "file:" + output,
        ], limits: Self.limits(seconds: 10))
    }

    /// Burns `text` (e.g. `@handle · Ephemera`) into a copy of our own rendition: white letters with a dark
    /// outline on a translucent band, legible on dark and light pictures. The text goes through a file, never
    /// the command line.
    public func watermark(source: String, kind: SegmentKind, text: String, textFile: String, output: String) async throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: textFile))
        defer { try? FileManager.default.removeItem(atPath: textFile) }
        let draw = "drawtext=fontfile=\(Self.fontFile):textfile=\(textFile):fontcolor=white:fontsize=h/28"
            + ":borderw=2:bordercolor=black@0.8:box=1:boxcolor=black@0.35:boxborderw=12:x=(w-text_w)/2:y=h-text_h-h/14"
        var args = Self.common + ["-protocol_whitelist", "file", "-f", kind == .video ? "mov" : "jpeg_pipe",
                                  "-i", "file:" + source, "-vf", draw, "-map_metadata", "-1"]
        if kind == .video {
            args += ["-map", "0:v:0", "-map", "0:a:0?", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
                     "-pix_fmt", "yuv420p", "-c:a", "copy", "-movflags", "+faststart", "-f", "mp4", "file:" + output]
        } else {
            args += ["-frames:v", "1", "-q:v", "3", "-f", "image2", "-c:v", "mjpeg", "file:" + output]
        }
        _ = try await runner.run("ffmpeg", args, limits: Self.limits(seconds: 30))
    }
}
