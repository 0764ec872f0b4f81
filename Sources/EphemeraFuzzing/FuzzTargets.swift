import EphemeraCore
import EphemeraMultipart
import Foundation
import NIOCore

/// What each fuzz target does with one input (issue 18): hands it to a parser of what arrives from the network
/// and checks what a correct result must be. A crash — a trap, a failed check — is a finding. libFuzzer calls
/// these through the executables in Sources/Fuzz (`script/fuzz`); the regression tests call them on the kept
/// corpus and on every input that once crashed (Tests/fuzz).
public enum FuzzTargets {
    /// The targets by name (the executables' names without `Fuzz`, the corpus files' names).
    public static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "ImageHeader": imageHeader, "Range": range, "TusHeaders": tusHeaders, "Multipart": multipart,
        "DurationSpec": durationSpec, "Cursor": cursor, "FormFields": formFields, "StoryFields": storyFields,
    ]

    /// A check that must hold; a crash the fuzzer reports when it does not.
    static func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("fuzz property failed: " + message()) }
    }

    static func text(_ bytes: some Collection<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Image headers (the size check before any decoder): dimensions, when found, are positive.
    public static func imageHeader(_ bytes: [UInt8]) {
        if let found = ImageHeader.dimensions(in: bytes) {
            require(found.width > 0 && found.height > 0, "dimensions \(found)")
        }
    }

    /// `Range` against a file size taken from the first 8 bytes: a range, when given, lies inside the file.
    public static func range(_ bytes: [UInt8]) {
        guard bytes.count >= 8 else { return }
        let size = bytes.prefix(8).reduce(Int64(0)) { ($0 << 8) | Int64($1) } & 0x00FF_FFFF_FFFF_FFFF
        let header = text(bytes.dropFirst(8))
        if let range = ByteRange.parse(header, size: size) {
            require(range.lowerBound >= 0 && range.upperBound < size && range.lowerBound <= range.upperBound,
                    "\(range) of \(size) from \(header.debugDescription)")
        }
    }

    /// `Upload-Metadata`, `Upload-Checksum`, `Upload-Offset`: each refuses or gives a well-formed value.
    public static func tusHeaders(_ bytes: [UInt8]) {
        let header = text(bytes)
        if let fields = try? TusHeaders.metadata(header) {
            require(fields.keys.allSatisfy { !$0.isEmpty && !$0.contains(",") && !$0.contains(" ") }, "keys \(fields.keys)")
        }
        if let (algorithm, digest) = try? TusHeaders.checksum(header) {
            require(digest.count == algorithm.digestLength, "\(algorithm) digest of \(digest.count) bytes")
        }
        if let count = TusHeaders.byteCount(header) {
            require(count >= 0 && String(count) == header.drop { $0 == "0" }.description.nonEmpty(or: "0"),
                    "\(count) from \(header.debugDescription)")
        }
    }

    /// A multipart body (the boundary from the first bytes) fed whole and in slices cut where the input says:
    /// both give the same parts, or both refuse — the parser does not depend on how the network slices the body.
    public static func multipart(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let boundaryLength = 1 + Int(first % 70)
        guard bytes.count > boundaryLength + 1 else { return }
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-_'()+,./:=?".utf8)
        let boundary = text(bytes[1...boundaryLength].map { alphabet[Int($0) % alphabet.count] })
        let cuts = bytes[boundaryLength + 1]
        let body = Array(bytes[(boundaryLength + 2)...])
        let whole = parts(of: [body], boundary: boundary)
        var slices: [[UInt8]] = []
        var index = 0
        var step = 1 + Int(cuts % 13)
        while index < body.count {
            let end = min(body.count, index + step)
            slices.append(Array(body[index..<end]))
            index = end
            step = 1 + (step * 7 + Int(cuts)) % 29
        }
        let sliced = parts(of: slices, boundary: boundary)
        require(whole == sliced, "whole \(whole) but sliced \(sliced) (boundary \(boundary))")
    }

    /// The parts (headers and body bytes) a body's slices make, or "refused".
    static func parts(of slices: [[UInt8]], boundary: String) -> String {
        var stream = MultipartStream(boundary: boundary)
        var description = ""
        do {
            for slice in slices {
                try stream.feed(ByteBuffer(bytes: slice)) { event in
                    switch event {
                    case .headers(let headers): description += "[" + headers.sorted { $0.key < $1.key }.description + "]"
                    case .body(let buffer): description += Hex.encode(Array(buffer.readableBytesView))
                    case .partEnd: description += "|"
                    }
                }
            }
            try stream.finish()
            return description
        } catch {
            return "refused"
        }
    }

    /// Durations and byte sizes of the configuration: nothing, or a positive amount.
    public static func durationSpec(_ bytes: [UInt8]) {
        let spec = text(bytes)
        if let duration = parseDurationSpec(spec) { require(duration > .zero, "\(duration) from \(spec.debugDescription)") }
        if let size = parseByteSize(spec) { require(size > 0, "\(size) from \(spec.debugDescription)") }
    }

    /// Pagination cursors as clients send them back: whatever decodes encodes to a cursor that decodes the same.
    public static func cursor(_ bytes: [UInt8]) {
        let encoded = text(bytes)
        if let cursor = PageCursor(encoded: encoded) {
            require(PageCursor(encoded: cursor.encoded) == cursor, "page cursor \(cursor) does not round-trip")
        }
        if let cursor = RankedCursor(encoded: encoded), let again = RankedCursor(encoded: cursor.encoded) {
            require(again.asOf == cursor.asOf && again.id == cursor.id && again.score.bitPattern == cursor.score.bitPattern,
                    "ranked cursor \(cursor) does not round-trip")
        } else if RankedCursor(encoded: encoded) != nil {
            require(false, "a ranked cursor does not decode from its own encoding")
        }
    }

    /// The values of wave 2's story features as clients send them: an archive day (`?day=`, `/archive/{day}`),
    /// navigation events (comma-separated here), a text story's text and background (after the first newline).
    /// Each is refused with the API's error, or well formed.
    public static func storyFields(_ bytes: [UInt8]) {
        let input = text(bytes)
        do {
            let span = try ArchiveCalendar.span(ofDay: input)
            require(span.end - span.start == .seconds(86400) && ArchiveCalendar.day(of: span.start) == input,
                    "day \(input.debugDescription) spans \(span)")
        } catch is EphemeraError {} catch { require(false, "\(error) is not an EphemeraError") }
        do {
            let names = input.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let events = try NavigationEvent.parse(names)
            require(events.count == names.count && events.count <= NavigationEvent.maxPerReport, "events \(events)")
        } catch is EphemeraError {} catch { require(false, "\(error) is not an EphemeraError") }
        let parts = input.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let coverage = GlyphCoverage(ranges: [0x20...0x7E, 0xA0...0x24F, 0x370...0x3FF, 0x400...0x4FF])
        do {
            let story = try TextStory(text: parts.count > 1 ? parts[1] : parts[0], background: parts.count > 1 ? parts[0] : nil,
                                      coverage: coverage)
            require(story.text.count <= TextStory.maxLength && !story.text.isEmpty, "text of \(story.text.count)")
            require(coverage.missing(in: story.text).isEmpty, "undrawable \(story.text.debugDescription)")
            let layout = story.layout
            require(layout.fontSize > 0 && !layout.text.unicodeScalars.contains { $0 != "\n" && $0.properties.generalCategory == .control },
                    "layout \(layout)")
        } catch is EphemeraError {} catch { require(false, "\(error) is not an EphemeraError") }
    }

    /// The posting form's fields (`name=value` lines): refused with the API's error, or a request within the
    /// limits the rest of posting counts on.
    public static func formFields(_ bytes: [UInt8]) {
        var fields: [String: String] = [:]
        for line in text(bytes).split(separator: "\n", omittingEmptySubsequences: false) {
            let pair = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            fields[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
        }
        do {
            let request = try PostFields(fields, settings: AccountSettings()).request
            if let text = request.creative.text { require(text.count <= CreativeEdits.maxTextLength, "text of \(text.count)") }
            for trim in [request.edits.trimStart, request.edits.trimEnd] {
                if let trim { require(trim.isFinite && trim >= 0, "trim \(trim)") }
            }
        } catch is EphemeraError {
            // A refusal with the API's error shape: what a bad form should get.
        } catch {
            require(false, "\(error) is not an EphemeraError")
        }
    }
}

extension String {
    fileprivate func nonEmpty(or fallback: String) -> String { isEmpty ? fallback : self }
}
