/// What probing found in an upload (filled in by EphemeraMedia from ffprobe's JSON; judged here).
public struct MediaProbe: Sendable, Hashable {
    public struct Stream: Sendable, Hashable {
        public enum Kind: String, Sendable { case video, audio, other }
        public var kind: Kind
        public var codec: String
        public var width: Int
        public var height: Int
        public var pixelFormat: String?
        /// Rotation from the display matrix, in degrees (0 when absent).
        public var rotation: Int
        /// True for a cover picture attached to an audio file (not a video).
        public var attachedPicture: Bool

        public init(kind: Kind, codec: String, width: Int = 0, height: Int = 0, pixelFormat: String? = nil,
                    rotation: Int = 0, attachedPicture: Bool = false) {
            self.kind = kind
            self.codec = codec
            self.width = width
            self.height = height
            self.pixelFormat = pixelFormat
            self.rotation = rotation
            self.attachedPicture = attachedPicture
        }
    }

    /// ffprobe's `format_name`, e.g. `mov,mp4,m4a,3gp,3g2,mj2` or `png_pipe`.
    public var formatName: String
    public var durationSeconds: Double?
    public var streams: [Stream]
    public var sizeBytes: Int64

    public init(formatName: String, durationSeconds: Double?, streams: [Stream], sizeBytes: Int64) {
        self.formatName = formatName
        self.durationSeconds = durationSeconds
        self.streams = streams
        self.sizeBytes = sizeBytes
    }
}

/// The configured media limits (DESIGN.md, "Media pipeline").
public struct MediaLimits: Sendable, Hashable {
    public var maxVideoSeconds: Double
    public var maxVideoBytes: Int64
    public var maxPhotoBytes: Int64
    /// Longest side accepted on input, for photos and videos.
    public var maxSidePixels: Int
    public var maxPhotoPixels: Int
    /// Longest split a single upload may produce.
    public var maxSplitSegments: Int

    public init(maxVideoSeconds: Double = 15, maxVideoBytes: Int64 = 200_000_000, maxPhotoBytes: Int64 = 30_000_000,
                maxSidePixels: Int = 4096, maxPhotoPixels: Int = 50_000_000, maxSplitSegments: Int = 20) {
        self.maxVideoSeconds = maxVideoSeconds
        self.maxVideoBytes = maxVideoBytes
        self.maxPhotoBytes = maxPhotoBytes
        self.maxSidePixels = maxSidePixels
        self.maxPhotoPixels = maxPhotoPixels
        self.maxSplitSegments = maxSplitSegments
    }
}

/// Edits asked for at post time that change which part of the media becomes segments.
public struct PostEdits: Sendable, Hashable {
    public var trimStart: Double?
    public var trimEnd: Double?
    public var split: Bool

    public init(trimStart: Double? = nil, trimEnd: Double? = nil, split: Bool = false) {
        self.trimStart = trimStart
        self.trimEnd = trimEnd
        self.split = split
    }
}

/// A part of the source video, in seconds.
public struct ClipRange: Sendable, Hashable, Codable {
    public var start: Double
    public var end: Double
    public init(start: Double, end: Double) {
        self.start = start
        self.end = end
    }
    public var length: Double { end - start }
}

/// What to make of an accepted upload.
public enum MediaPlan: Sendable, Hashable, Codable {
    case photo(PhotoPlan)
    case video(VideoPlan)

    public var kind: SegmentKind {
        switch self {
        case .photo: .photo
        case .video: .video
        }
    }
}

public struct PhotoPlan: Sendable, Hashable, Codable {
    /// The demuxer probing found; ffmpeg is forced to use it.
    public var demuxer: String
    public var width: Int
    public var height: Int
    public var edits: CreativeEdits?
}

public struct VideoPlan: Sendable, Hashable, Codable {
    public var demuxer: String
    public var width: Int
    public var height: Int
    public var hasAudio: Bool
    /// One range per segment to make, in order.
    public var pieces: [ClipRange]
    /// The upload is already what we would produce (H.264 yuv420p within the frame, AAC or silent, no edits):
    /// copy the streams instead of re-encoding.
    public var canRemux: Bool
    public var edits: CreativeEdits?
}

/// The media rules: which uploads are accepted, and how they become segments. Pure; the probe comes from ffprobe.
public enum MediaRules {
    /// The longest a ciphertext link is valid or cached: a presigned object-store URL cannot outlive seven days.
    public static let longestCiphertextLink: Duration = .seconds(7 * 86400)
    /// A link to media no longer in the story (the author's archive) is valid this long, and never cached.
    public static let archiveCiphertextLink: Duration = .seconds(3600)

    /// How long a shared cache may keep a rendition's ciphertext (`Cache-Control: max-age`): never past the
    /// segment's `expiresAt` (API.md), nor past the link's own validity.
    public static func ciphertextCacheLifetime(expiresAt: Instant, now: Instant) -> Duration {
        guard expiresAt > now else { return .zero }
        return min(expiresAt - now, longestCiphertextLink)
    }

    /// When in a clip of `seconds` its poster frame is taken: a third of the way in, at most a second in (past
    /// a fade from black, before the story moves on).
    public static func posterInstant(seconds: Double) -> Double {
        max(0, min(1.0, seconds / 3))
    }

    /// How long a ciphertext link handed out now stays valid: until the segment leaves the story (at least an hour,
    /// so a video started just before expiry plays to its end), at most a week.
    public static func ciphertextLinkLifetime(expiresAt: Instant, now: Instant) -> Duration {
        min(max(expiresAt > now ? expiresAt - now : .zero, archiveCiphertextLink), longestCiphertextLink)
    }

    /// The renditions a client that decrypts is given links to (downloads are made on request, watermarked).
    public static func decryptableRenditions(of kind: SegmentKind) -> [Rendition] {
        Rendition.renditions(of: kind)
    }

    /// The refusal of an upload larger than the server accepts (`max` bytes), by its declared size or as it streams.
    public static func uploadTooLarge(_ max: Int64) -> EphemeraError {
        EphemeraError(.tooLarge, "upload_too_large",
                      "The upload is larger than this server accepts (\(max / 1_000_000) MB). Trim or compress it first.")
    }

    /// Demuxers accepted for video, keyed by the first name in ffprobe's `format_name`.
    static let videoDemuxers: [String: String] = ["mov": "mov", "matroska": "matroska"]
    /// Demuxers accepted for photos.
    static let photoDemuxers: Set<String> = ["png_pipe", "jpeg_pipe", "webp_pipe"]
    /// Slack for container rounding: a clip reported as 15.02 s is a 15 s clip.
    static let durationTolerance = 0.05

    public static func plan(_ probe: MediaProbe, limits: MediaLimits, edits: PostEdits,
                            creative: CreativeEdits = CreativeEdits()) throws -> MediaPlan {
        let creative: CreativeEdits? = creative.isEmpty ? nil : creative
        let firstFormat = probe.formatName.split(separator: ",").first.map(String.init) ?? ""
        let pictures = probe.streams.filter { $0.kind == .video && !$0.attachedPicture }

        if photoDemuxers.contains(firstFormat), let image = pictures.first {
            try checkDimensions(width: image.width, height: image.height, limits: limits, photo: true)
            guard probe.sizeBytes <= limits.maxPhotoBytes else {
                throw EphemeraError(.tooLarge, "photo_too_large",
                    "The photo is \(megabytes(probe.sizeBytes)); a photo may be at most \(megabytes(limits.maxPhotoBytes)).")
            }
            if creative?.hasSound == true {
                throw EphemeraError.badRequest("sound_needs_video", "A sound track can only be added to a video.")
            }
            return .photo(PhotoPlan(demuxer: firstFormat, width: image.width, height: image.height, edits: creative))
        }

        guard let demuxer = videoDemuxers[firstFormat] else {
            throw unsupported
        }
        guard let video = pictures.first else {
            if probe.streams.contains(where: { $0.kind == .audio }) {
                throw EphemeraError(.unsupportedMedia, "no_video_stream",
                    "This file has sound but no picture. Post a video (MP4, MOV, WebM) or a photo (JPEG, PNG, WebP).")
            }
            throw unsupported
        }
        try checkDimensions(width: video.width, height: video.height, limits: limits, photo: false)
        guard probe.sizeBytes <= limits.maxVideoBytes else {
            throw EphemeraError(.tooLarge, "upload_too_large",
                "The video is \(megabytes(probe.sizeBytes)); a video may be at most \(megabytes(limits.maxVideoBytes)).")
        }
        guard let duration = probe.durationSeconds, duration > 0 else {
            throw EphemeraError.unprocessable("undecodable_media",
                "The video's length cannot be read; the file may be damaged. Export it again and retry.")
        }

        let start = edits.trimStart ?? 0
        let end = min(edits.trimEnd ?? duration, duration)
        guard start >= 0, start < duration, end > start, (edits.trimEnd ?? duration) <= duration + durationTolerance else {
            throw EphemeraError.badRequest("invalid_trim",
                "trimStart and trimEnd must satisfy 0 ≤ trimStart < trimEnd ≤ \(format(duration)) s (the video's length).")
        }
        let length = end - start
        var pieces = [ClipRange(start: start, end: end)]
        if length > limits.maxVideoSeconds + durationTolerance {
            guard edits.split else {
                throw EphemeraError.unprocessable("story_too_long",
                    "Video is \(format(length)) s; a story segment may be at most \(format(limits.maxVideoSeconds)) s. "
                    + "Trim it, or post it with split=true to cut it into several segments.")
            }
            pieces = splitRanges(start: start, end: end, maxLength: limits.maxVideoSeconds)
            guard pieces.count <= limits.maxSplitSegments else {
                throw EphemeraError.unprocessable("story_too_long",
                    "Video is \(format(length)) s, which would make \(pieces.count) segments; "
                    + "at most \(limits.maxSplitSegments) are allowed from one upload.")
            }
        }

        let audio = probe.streams.first { $0.kind == .audio }
        let untouched = edits.trimStart == nil && edits.trimEnd == nil && pieces.count == 1 && creative == nil
        let canRemux = untouched && demuxer == "mov" && video.codec == "h264" && video.pixelFormat == "yuv420p"
            && video.rotation == 0 && video.width <= 1080 && video.height <= 1920
            && (audio == nil || audio?.codec == "aac")
        return .video(VideoPlan(demuxer: demuxer, width: video.width, height: video.height, hasAudio: audio != nil,
                                pieces: pieces, canRemux: canRemux, edits: creative))
    }

    /// Consecutive ranges of at most `maxLength` seconds covering `start..<end`. A last piece shorter than a
    /// second is folded into an even split so no segment is a blink.
    public static func splitRanges(start: Double, end: Double, maxLength: Double) -> [ClipRange] {
        let length = end - start
        var count = Int((length / maxLength).rounded(.up))
        if length - Double(count - 1) * maxLength < durationTolerance { count -= 1 }
        count = max(count, 1)
        let remainder = length - Double(count - 1) * maxLength
        let piece = remainder < 1 ? length / Double(count) : maxLength
        return (0..<count).map { i in
            let s = start + Double(i) * piece
            return ClipRange(start: s, end: i == count - 1 ? end : s + piece)
        }
    }

    static func checkDimensions(width: Int, height: Int, limits: MediaLimits, photo: Bool) throws {
        guard width > 0, height > 0 else {
            throw EphemeraError.unprocessable("undecodable_media",
                "The picture's size cannot be read; the file may be damaged. Export it again and retry.")
        }
        guard width <= limits.maxSidePixels, height <= limits.maxSidePixels,
              !photo || width * height <= limits.maxPhotoPixels else {
            throw EphemeraError.unprocessable("media_dimensions_too_large", photo
                ? "The photo is \(width)×\(height) px; at most \(limits.maxSidePixels) px a side and "
                    + "\(limits.maxPhotoPixels / 1_000_000) megapixels are accepted."
                : "The video is \(width)×\(height) px; at most \(limits.maxSidePixels) px a side are accepted.")
        }
    }

    static let unsupported = EphemeraError(.unsupportedMedia, "unsupported_media",
        "This file is not a photo or video we accept. Post a video (MP4, MOV, WebM, MKV) or a photo (JPEG, PNG, WebP).")

    static func format(_ seconds: Double) -> String {
        let tenths = (seconds * 10).rounded() / 10
        return tenths == tenths.rounded() ? String(Int(tenths)) : String(tenths)
    }

    static func megabytes(_ bytes: Int64) -> String {
        let mb = Double(bytes) / 1_000_000
        return mb >= 10 ? "\(Int(mb.rounded())) MB" : "\((mb * 10).rounded() / 10) MB"
    }
}

extension MediaRules {
    /// Containers accepted for a sound track, keyed by the first name in ffprobe's `format_name`.
    static let soundDemuxers: [String: String] = [
        "mov": "mov", "mp3": "mp3", "ogg": "ogg", "wav": "wav", "flac": "flac", "matroska": "matroska", "aac": "aac",
    ]

    /// The demuxer to force for a sound track, or a 415 when it is not audio we accept.
    public static func soundDemuxer(for probe: MediaProbe) throws -> String {
        let first = probe.formatName.split(separator: ",").first.map(String.init) ?? ""
        guard let demuxer = soundDemuxers[first], probe.streams.contains(where: { $0.kind == .audio }) else {
            throw EphemeraError(.unsupportedMedia, "unsupported_sound",
                                "The sound track must be audio (M4A, MP3, OGG, WAV, FLAC or WebM).")
        }
        return demuxer
    }

    /// Refuses, from the declared header alone, an image that would decode huge. Called before any decoder
    /// (ffprobe included) sees the file.
    public static func checkDeclaredImageSize(prefix: [UInt8], limits: MediaLimits) throws {
        guard let (width, height) = ImageHeader.dimensions(in: prefix) else { return }
        try checkDimensions(width: width, height: height, limits: limits, photo: true)
    }
}

extension MediaRules {
    /// How many of one person's segments may wait for processing at once. The media lane runs one encode at a
    /// time for everyone; past this, one person's posts would hold everyone else's back.
    public static let maxProcessingPerAccount = 12

    /// Seconds to wait before posting again when refused for queued work (about one encode).
    public static let processingRetryAfterSeconds = 30

    /// Refuses a new post (or resumable upload) while `processing` of the author's segments wait.
    public static func admitPost(processing: Int) throws {
        guard processing < maxProcessingPerAccount else {
            throw EphemeraError(.rateLimited, "too_much_processing",
                                "\(processing) of your stories are still being processed; post again once they are live.")
                .retrying(after: processingRetryAfterSeconds)
        }
    }
}
