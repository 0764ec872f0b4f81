import EphemeraCore
import EphemeraStore

/// Everything I posted, for `GET /api/v1/me/export`: each segment I can still read, its stored renditions and
/// its comments. The media themselves are streamed by the caller from the media store, blob by blob.
public struct Exporting: Sendable {
    public struct Item: Sendable, Hashable {
        public var view: SegmentView
        public var renditions: [Rendition]
        public var comments: [CommentView]
    }

    let reading: Reading
    let interacting: Interacting
    let media: any MediaStore

    public init(reading: Reading, interacting: Interacting, media: any MediaStore) {
        self.reading = reading
        self.interacting = interacting
        self.media = media
    }

    /// My segments as I may read them (not those I deleted under a legal hold), oldest first.
    public func items(of me: Account) async throws -> [Item] {
        let viewer = Viewer(accountID: me.id)
        let mine = try await reading.segments.segments(authorID: me.id).filter { isReadableByAuthor($0, viewer: viewer) }
        var items: [Item] = []
        for view in try await reading.views(of: mine, for: viewer) {
            let stored = try await media.renditions(segmentID: view.segment.id)
            items.append(Item(view: view, renditions: Rendition.renditions(of: view.segment.kind).filter(stored.contains),
                              comments: try await interacting.allComments(of: view.segment)))
        }
        return items
    }
}
