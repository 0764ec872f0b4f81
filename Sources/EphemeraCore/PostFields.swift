import Foundation

// The posting form's fields (multipart posts and tus `Upload-Metadata` alike): text from strangers, parsed into
// what the use case is asked to post (and fuzzed: `script/fuzz`).

/// What a person asks to post, its form fields checked.
public struct PostRequest: Sendable {
    public var audience: Audience
    public var caption: String?
    /// What the picture shows, for screen readers.
    public var altText: String?
    /// Comments and downloads for this post alone; nil follows the account's settings.
    public var allowComments: Bool?
    public var allowDownloads: Bool?
    /// A lifetime's name (`StorySchedule.lifetimes`); nil: the server's default.
    public var lifetime: String?
    /// When to go live; nil: now.
    public var publishAt: Instant?
    public var edits: PostEdits
    public var creative: CreativeEdits

    public init(audience: Audience, caption: String?, altText: String? = nil, allowComments: Bool? = nil,
                allowDownloads: Bool? = nil, lifetime: String? = nil, publishAt: Instant? = nil, edits: PostEdits,
                creative: CreativeEdits) {
        self.lifetime = lifetime
        self.publishAt = publishAt
        self.audience = audience
        self.caption = caption
        self.altText = altText
        self.allowComments = allowComments
        self.allowDownloads = allowDownloads
        self.edits = edits
        self.creative = creative
    }
}

/// The post's form fields, checked.
public struct PostFields {
    var audience: Audience
    var caption: String?
    var altText: String?
    var allowComments: Bool?
    var allowDownloads: Bool?
    var lifetime: String?
    var publishAt: Instant?
    var edits: PostEdits
    var creative: CreativeEdits
    /// `kind=text`: the story's text and background as sent (checked by `TextStory` against the font); nil for
    /// a post of a file.
    public var textStory: (text: String?, background: String?)?

    /// What the use case is asked to post.
    public var request: PostRequest {
        PostRequest(audience: audience, caption: caption, altText: altText, allowComments: allowComments,
                    allowDownloads: allowDownloads, lifetime: lifetime, publishAt: publishAt, edits: edits,
                    creative: creative)
    }

    public init(_ fields: [String: String], settings: AccountSettings) throws {
        audience = try fields["audience"].map { try Audience.parse($0) } ?? settings.defaultAudience
        let caption = fields["caption"]?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let caption { try AccountRules.validateCaption(caption) }
        self.caption = caption?.isEmpty == false ? caption : nil
        let altText = try fields["altText"].map(SegmentEdit.validatedAltText)
        self.altText = altText?.isEmpty == false ? altText : nil
        lifetime = fields["lifetime"].flatMap { $0.isEmpty ? nil : $0 }
        publishAt = try fields["publishAt"].flatMap { $0.isEmpty ? nil : try StorySchedule.publishAt($0) }
        allowComments = try fields["allowComments"].flatMap { $0.isEmpty ? nil : try parseFlag($0, name: "allowComments") }
        allowDownloads = try fields["allowDownloads"].flatMap { $0.isEmpty ? nil : try parseFlag($0, name: "allowDownloads") }
        var creative = CreativeEdits()
        if let filter = fields["filter"], !filter.isEmpty {
            guard let value = CreativeEdits.Filter(rawValue: filter) else {
                throw EphemeraError.invalidValue(field: "filter", value: filter, accepted: CreativeEdits.Filter.allCases.map(\.rawValue))
            }
            creative.filter = value
        }
        if let position = fields["textPosition"], !position.isEmpty {
            guard let value = CreativeEdits.TextPosition(rawValue: position) else {
                throw EphemeraError.invalidValue(field: "textPosition", value: position,
                                                 accepted: CreativeEdits.TextPosition.allCases.map(\.rawValue))
            }
            creative.textPosition = value
        }
        if let mode = fields["soundMode"], !mode.isEmpty {
            guard let value = CreativeEdits.SoundMode(rawValue: mode) else {
                throw EphemeraError.invalidValue(field: "soundMode", value: mode, accepted: CreativeEdits.SoundMode.allCases.map(\.rawValue))
            }
            creative.soundMode = value
        }
        let kind = fields["kind"] ?? ""
        guard kind.isEmpty || kind == "text" else {
            throw EphemeraError.invalidValue(field: "kind", value: String(kind.prefix(20)), accepted: ["text"])
        }
        if kind == "text" {
            // The text is the story itself, not an overlay on a picture.
            textStory = (fields["text"], fields["background"])
        } else if let text = fields["text"]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            guard text.count <= CreativeEdits.maxTextLength else {
                throw EphemeraError.badRequest("text_too_long",
                    "Overlay text may be at most \(CreativeEdits.maxTextLength) characters; this has \(text.count).")
            }
            creative.text = text
        }
        self.creative = creative
        edits = PostEdits(
            trimStart: try Self.seconds(fields["trimStart"], "trimStart"),
            trimEnd: try Self.seconds(fields["trimEnd"], "trimEnd"),
            split: try parseFlag(fields["split"], name: "split"))
    }

    static func seconds(_ text: String?, _ name: String) throws -> Double? {
        guard let text, !text.isEmpty else { return nil }
        guard let value = Double(text), value.isFinite, value >= 0 else {
            throw EphemeraError.badRequest("invalid_trim", "\(name) must be a number of seconds, 0 or more.")
        }
        return value
    }
}
