import Foundation

/// A story made of text on a background (API.md: `kind=text`), drawn by the server into a 1080×1920 photo
/// segment whose alt text is the text.
public struct TextStory: Sendable, Hashable {
    /// The five backgrounds: two colours of a diagonal gradient, and the colour of the letters on them.
    public enum Background: String, Sendable, Hashable, CaseIterable {
        case sunset, ocean, forest, night, paper

        /// Top-left and bottom-right colours (`RRGGBB`), as the composer's preview shows them.
        public var colors: (String, String) {
            switch self {
            case .sunset: ("FF7E5F", "B2245F")
            case .ocean: ("1FA2FF", "0B3D91")
            case .forest: ("3A7D44", "0F2E1C")
            case .night: ("232946", "0B0C1A")
            case .paper: ("F7F3E8", "E4DCC6")
            }
        }

        /// The letters: white on the dark ones, ink on paper.
        public var textColor: String { self == .paper ? "1F1B16" : "FFFFFF" }
    }

    public static let maxLength = 280

    /// A text story is drawn from its text: a file sent with one (a form's `media` or `sound`, a tus upload)
    /// is refused.
    public static let sentWithFile = EphemeraError.badRequest(
        "media_with_text_story",
        "A text story is drawn from its text: send 'text' and 'background' without a 'media' or 'sound' file, or leave out kind=text to post a file.")
    public static let width = 1080
    public static let height = 1920

    public var text: String
    public var background: Background

    /// The story of these form fields: the text trimmed (not blank, at most 280 characters, control characters
    /// other than line breaks refused) on a known background, every character one the font can draw.
    public init(text: String?, background: String?, coverage: GlyphCoverage) throws {
        let trimmed = (text ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "\r\n", with: "\n")
        guard !trimmed.isEmpty else {
            throw EphemeraError.badRequest("text_empty", "A text story needs some text in the field 'text'.")
        }
        guard trimmed.count <= Self.maxLength else {
            throw EphemeraError.badRequest(
                "text_too_long", "A text story may be at most \(Self.maxLength) characters; this one has \(trimmed.count).")
        }
        guard !trimmed.unicodeScalars.contains(where: { $0 != "\n" && $0.properties.generalCategory == .control }) else {
            throw EphemeraError.badRequest("invalid_text", "A text story's text cannot hold control characters.")
        }
        let name = (background ?? "").isEmpty ? Background.sunset.rawValue : background!
        guard let chosen = Background(rawValue: name) else {
            throw EphemeraError.invalidValue(field: "background", value: String(name.prefix(20)),
                                             accepted: Background.allCases.map(\.rawValue))
        }
        try coverage.checkDrawable(trimmed, in: "a text story")
        self.text = trimmed
        self.background = chosen
    }

    /// How texts are set, by length: up to `upTo` characters, lines of `lineLength`, letters `fontSize` pixels
    /// high in the 1080-pixel-wide frame (short texts large, long ones smaller, all within the width). The
    /// composer's preview follows the same table.
    public static let sizes: [(upTo: Int, lineLength: Int, fontSize: Int)] = [(40, 14, 104), (120, 20, 76), (maxLength, 26, 58)]

    /// How it is set: the text wrapped to the line length its length calls for, and the font size in pixels.
    public var layout: (text: String, fontSize: Int) {
        let size = Self.sizes.first { text.count <= $0.upTo } ?? Self.sizes[Self.sizes.count - 1]
        return (CreativeEdits.wrappedText(text, lineLength: size.lineLength), size.fontSize)
    }
}

/// Which Unicode scalars a font has glyphs for, as sorted inclusive ranges (from its `cmap` table).
public struct GlyphCoverage: Sendable, Hashable {
    public var ranges: [ClosedRange<UInt32>]

    public init(ranges: [ClosedRange<UInt32>]) {
        self.ranges = ranges.sorted { $0.lowerBound < $1.lowerBound }
    }

    public func covers(_ scalar: Unicode.Scalar) -> Bool {
        var low = 0, high = ranges.count - 1
        while low <= high {
            let middle = (low + high) / 2
            if ranges[middle].contains(scalar.value) { return true }
            if scalar.value < ranges[middle].lowerBound { high = middle - 1 } else { low = middle + 1 }
        }
        return false
    }

    /// The scalars of `text` the font cannot draw, each once, in order. Spaces, line breaks, joiners and
    /// variation selectors draw nothing and are never missing.
    public func missing(in text: String) -> [Unicode.Scalar] {
        var seen: Set<Unicode.Scalar> = []
        return text.unicodeScalars.filter { scalar in
            guard !scalar.properties.isWhitespace, !scalar.properties.isVariationSelector,
                  scalar != "\u{200D}", scalar != "\u{200C}", !covers(scalar) else { return false }
            return seen.insert(scalar).inserted
        }
    }

    /// Refuses `text` (422 `text_not_drawable`, naming up to five characters) when the font lacks a glyph it needs.
    public func checkDrawable(_ text: String, in place: String) throws {
        let missing = missing(in: text)
        guard !missing.isEmpty else { return }
        let shown = missing.prefix(5).map { "\($0) (U+\(String($0.value, radix: 16, uppercase: true)))" }
        throw EphemeraError.unprocessable(
            "text_not_drawable",
            "These characters cannot be drawn in \(place): \(shown.joined(separator: ", ")). Text is drawn in DejaVu Sans, "
                + "which has Latin, Greek, Cyrillic, Armenian, Georgian, Hebrew, Arabic and many symbols, but no Chinese, "
                + "Japanese or Korean characters and no colour emoji.")
    }

    /// The `cmap` of a TrueType/OpenType font: its format 12 subtable (all planes) when it has one, else its
    /// format 4 (the Basic Multilingual Plane). Nil when `font` is not such a font.
    public static func parse(font bytes: [UInt8]) -> GlyphCoverage? {
        func u16(_ at: Int) -> Int? { at >= 0 && at + 2 <= bytes.count ? Int(bytes[at]) << 8 | Int(bytes[at + 1]) : nil }
        func u32(_ at: Int) -> UInt32? {
            guard at >= 0, at + 4 <= bytes.count else { return nil }
            return bytes[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }
        guard let tables = u16(4) else { return nil }
        var cmap: Int?
        for index in 0..<tables {
            let record = 12 + 16 * index
            guard record + 16 <= bytes.count else { return nil }
            if Array(bytes[record..<record + 4]) == Array("cmap".utf8) { cmap = u32(record + 8).map(Int.init) }
        }
        guard let cmap, let subtables = u16(cmap + 2) else { return nil }
        var format4: Int?, format12: Int?
        for index in 0..<subtables {
            let record = cmap + 4 + 8 * index
            guard let platform = u16(record), let encoding = u16(record + 2), let offset = u32(record + 4),
                  let format = u16(cmap + Int(offset)) else { continue }
            if format == 12, platform == 3 || platform == 0 { format12 = cmap + Int(offset) }
            if format == 4, platform == 3 || platform == 0, encoding != 0 || platform == 0 { format4 = cmap + Int(offset) }
        }
        var ranges: [ClosedRange<UInt32>] = []
        if let table = format12, let groups = u32(table + 12), groups < 1_000_000 {
            for group in 0..<Int(groups) {
                guard let start = u32(table + 16 + 12 * group), let end = u32(table + 20 + 12 * group), start <= end else {
                    return nil
                }
                ranges.append(start...end)
            }
        } else if let table = format4, let doubled = u16(table + 6) {
            let segments = doubled / 2
            for segment in 0..<segments {
                guard let end = u16(table + 14 + 2 * segment), let start = u16(table + 16 + doubled + 2 * segment),
                      start <= end else { return nil }
                if start == 0xFFFF { continue }
                ranges.append(UInt32(start)...UInt32(end))
            }
        } else {
            return nil
        }
        return GlyphCoverage(ranges: ranges)
    }
}
