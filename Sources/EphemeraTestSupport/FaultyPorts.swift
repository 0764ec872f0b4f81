import EphemeraApp
import EphemeraCore
import EphemeraProcess
import EphemeraMedia
import Foundation
import Logging

/// Holds a transcoder in the middle of its work until the test lets it go, so a test can make something else
/// happen "while ffmpeg runs" at a precise point instead of racing the clock.
public actor TranscoderGate {
    var isOpen = true
    var entered = false
    var waitingToEnter: [CheckedContinuation<Void, Never>] = []
    var waitingToPass: [CheckedContinuation<Void, Never>] = []

    public init() {}

    public func close() { isOpen = false }

    public func open() {
        isOpen = true
        waitingToPass.forEach { $0.resume() }
        waitingToPass = []
    }

    /// Called by the transcoder: marks that it got here and waits while the gate is closed.
    func pass() async {
        entered = true
        waitingToEnter.forEach { $0.resume() }
        waitingToEnter = []
        if !isOpen { await withCheckedContinuation { waitingToPass.append($0) } }
    }

    /// Returns once a transcoder has reached the gate.
    public func waitUntilEntered() async {
        if entered { return }
        await withCheckedContinuation { waitingToEnter.append($0) }
    }
}

/// Real ffmpeg, but watermarking stops at `gate` after ffmpeg wrote its output, as a long encode would be
/// still running.
public struct GatedTranscoder: Transcoder {
    let ffmpeg = FFmpegMediaProcessor(runner: ProcessRunner(logger: Logger(label: "test-ffmpeg")))
    let gate: TranscoderGate

    public init(gate: TranscoderGate) { self.gate = gate }

    public func makeVideo(source: String, sound: String?, plan: VideoPlan, piece: ClipRange, videoOut: String,
                          posterOut: String, textFile: String?) async throws -> ProcessedMedia {
        try await ffmpeg.makeVideo(source: source, sound: sound, plan: plan, piece: piece, videoOut: videoOut,
                                   posterOut: posterOut, textFile: textFile)
    }

    public func makePhoto(source: String, plan: PhotoPlan, photoOut: String, textFile: String?) async throws -> ProcessedMedia {
        try await ffmpeg.makePhoto(source: source, plan: plan, photoOut: photoOut, textFile: textFile)
    }

    public func watermark(source: String, kind: SegmentKind, text: String, textFile: String, output: String) async throws {
        try await ffmpeg.watermark(source: source, kind: kind, text: text, textFile: textFile, output: output)
        await gate.pass()
    }

    public var textCoverage: GlyphCoverage { ffmpeg.textCoverage }

    public func drawTextStory(_ story: TextStory, textFile: String, output: String) async throws {
        try await ffmpeg.drawTextStory(story, textFile: textFile, output: output)
    }
}

/// A transcoder killed mid-job: it writes part of its output, as ffmpeg does before it dies, then fails.
public struct DyingTranscoder: Transcoder {
    public struct Killed: Error {}

    public init() {}

    func die(writing paths: [String]) throws -> Never {
        for path in paths { FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x42, count: 4096)) }
        throw Killed()
    }

    public func makeVideo(source: String, sound: String?, plan: VideoPlan, piece: ClipRange, videoOut: String,
                          posterOut: String, textFile: String?) async throws -> ProcessedMedia {
        try die(writing: [videoOut])
    }

    public func makePhoto(source: String, plan: PhotoPlan, photoOut: String, textFile: String?) async throws -> ProcessedMedia {
        try die(writing: [photoOut])
    }

    public func watermark(source: String, kind: SegmentKind, text: String, textFile: String, output: String) async throws {
        try die(writing: [output])
    }

    public var textCoverage: GlyphCoverage { GlyphCoverage(ranges: [0x20...0x7E]) }

    public func drawTextStory(_ story: TextStory, textFile: String, output: String) async throws {
        try die(writing: [output])
    }
}

/// An `fsync` that fails as a dying disk's does (EIO).
public struct FsyncFailed: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "fsync: Input/output error" }
}

extension PortOverrides {
    /// The real file media store, except that every `fsync` of a blob it writes fails.
    public static var failingBlobFsync: PortOverrides {
        PortOverrides(media: { store in
            guard var files = store as? FileMediaStore else { return store }
            files.syncFile = { _ in throw FsyncFailed() }
            return files
        })
    }
}
