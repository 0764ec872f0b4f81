/// The creative tools applied at post time, in the same ffmpeg pass as normalisation.
public struct CreativeEdits: Sendable, Hashable, Codable {
    public enum Filter: String, Sendable, Hashable, Codable, CaseIterable {
        case none, mono, sepia, vivid, warm, cool
    }

    public enum TextPosition: String, Sendable, Hashable, Codable, CaseIterable {
        case top, center, bottom
    }

    /// Whether an added sound track is mixed with the video's own sound or replaces it.
    public enum SoundMode: String, Sendable, Hashable, Codable, CaseIterable {
        case mix, replace
    }

    public var filter: Filter
    public var text: String?
    public var textPosition: TextPosition
    /// The demuxer probing found for the sound track sent with the upload, if one was: the plan names no file
    /// (it is stored, and outlives any one node's paths); processing finds the track beside the upload.
    public var soundDemuxer: String?
    public var soundMode: SoundMode

    public init(filter: Filter = .none, text: String? = nil, textPosition: TextPosition = .bottom,
                soundDemuxer: String? = nil, soundMode: SoundMode = .mix) {
        self.filter = filter
        self.text = text
        self.textPosition = textPosition
        self.soundDemuxer = soundDemuxer
        self.soundMode = soundMode
    }

    /// Whether a sound track is mixed in or replaces the video's own.
    public var hasSound: Bool { soundDemuxer != nil }

    public var isEmpty: Bool { filter == .none && text == nil && !hasSound }

    public static let maxTextLength = 200

    /// The overlay text as it will be drawn: trimmed, at most 200 characters, no control characters, wrapped
    /// into lines of at most `lineLength` characters (breaking at spaces where possible).
    public static func wrappedText(_ text: String, lineLength: Int) -> String {
        let clean = String(text.unicodeScalars.filter { $0 == "\n" || !($0.properties.generalCategory == .control) }
            .map(Character.init))
        var lines: [String] = []
        for paragraph in clean.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            for word in paragraph.split(separator: " ") {
                var word = String(word)
                while word.count > lineLength {
                    if !line.isEmpty { lines.append(line); line = "" }
                    lines.append(String(word.prefix(lineLength)))
                    word = String(word.dropFirst(lineLength))
                }
                if line.isEmpty { line = word } else if line.count + 1 + word.count <= lineLength { line += " " + word } else {
                    lines.append(line)
                    line = word
                }
            }
            lines.append(line)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines.joined(separator: "\n")
    }
}
