/// What processing produced, measured on our own output.
public struct ProcessedMedia: Sendable, Hashable {
    public var durationMilliseconds: Int64
    public var width: Int
    public var height: Int

    public init(durationMilliseconds: Int64, width: Int, height: Int) {
        self.durationMilliseconds = durationMilliseconds
        self.width = width
        self.height = height
    }
}

/// Makes our renditions from plaintext files in the node's scratch area (ffmpeg in EphemeraMedia). Every
/// path is a local scratch file; the text of overlays and watermarks goes through `textFile`, never a
/// command line.
public protocol Transcoder: Sendable {
    /// `video.mp4` and `poster.jpg` for one piece of a video upload; `sound` is the sound track sent with it
    /// when the plan mixes one in.
    func makeVideo(source: String, sound: String?, plan: VideoPlan, piece: ClipRange, videoOut: String,
                   posterOut: String, textFile: String?) async throws -> ProcessedMedia
    /// `photo.jpg` for a photo upload.
    func makePhoto(source: String, plan: PhotoPlan, photoOut: String, textFile: String?) async throws -> ProcessedMedia
    /// A copy of our own rendition `source` with `text` burnt in.
    func watermark(source: String, kind: SegmentKind, text: String, textFile: String, output: String) async throws
    /// What the font of text stories can draw.
    var textCoverage: GlyphCoverage { get }
    /// Draws a text story into a 1080×1920 PNG at `output`; each line of its text goes through a file named
    /// from `textFile`, never a command line.
    func drawTextStory(_ story: TextStory, textFile: String, output: String) async throws
}
