import Foundation

/// A named, ordered collection of an author's segments kept on their profile past the segments' 24 hours
/// (API.md, "Highlights"). Its segments are read through `isVisibleThroughHighlight`.
public struct Highlight: Sendable, Hashable {
    public var id: String
    public var ownerID: String
    public var title: String
    /// The segment whose poster stands for the highlight; nil (or one no longer readable) means its first.
    public var coverSegmentID: String?
    /// Its place among the owner's highlights (0 first).
    public var position: Int
    public var createdAt: Instant
    public var updatedAt: Instant
    /// In the owner's order.
    public var segmentIDs: [String]

    public init(id: String, ownerID: String, title: String, coverSegmentID: String?, position: Int,
                createdAt: Instant, updatedAt: Instant, segmentIDs: [String]) {
        self.id = id
        self.ownerID = ownerID
        self.title = title
        self.coverSegmentID = coverSegmentID
        self.position = position
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.segmentIDs = segmentIDs
    }
}

/// What a highlight may hold and be called. Pure.
public enum HighlightRules {
    public static let maxTitleLength = 40
    public static let maxSegments = 100
    /// Highlights per account: a profile's row, not a second archive.
    public static let maxHighlights = 100

    /// The states a segment is kept in a highlight in: in the story, past it, or in the archive. Deleting,
    /// taking down or purging a segment takes it out of every highlight at once, since reads ask for these.
    public static let keptStates: Set<SegmentState> = [.live, .expired, .archived]

    /// The title as stored: trimmed, 1–40 characters, no control characters.
    public static func validatedTitle(_ title: String) throws -> String {
        let trimmed = title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw EphemeraError.badRequest("title_empty", "A highlight needs a title, such as \"Summer\".")
        }
        guard trimmed.count <= maxTitleLength else {
            throw EphemeraError.badRequest(
                "title_too_long", "A highlight's title may be at most \(maxTitleLength) characters; this one has \(trimmed.count).")
        }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw EphemeraError.badRequest("invalid_title", "A highlight's title must be one line of text.")
        }
        return trimmed
    }

    /// The segment list as stored: 1–100 ids, none twice.
    public static func validatedSegmentList(_ ids: [String]) throws -> [String] {
        guard !ids.isEmpty else {
            throw EphemeraError.badRequest("highlight_empty", "A highlight needs at least one of your story segments.")
        }
        guard ids.count <= maxSegments else {
            throw EphemeraError.badRequest(
                "too_many_segments", "A highlight holds at most \(maxSegments) segments; this list has \(ids.count).")
        }
        guard Set(ids).count == ids.count else {
            throw EphemeraError.badRequest("duplicate_segment", "A segment can be in a highlight only once.")
        }
        return ids
    }

    /// Whether `segment` may be put in a highlight of `ownerID`'s: their own, posted (not scheduled), and live,
    /// expired or archived.
    public static func mayHold(_ segment: Segment, ownerID: String, at now: Instant) -> Bool {
        segment.authorID == ownerID && keptStates.contains(segment.state) && !segment.isScheduled(at: now)
            && segment.discardedAt == nil
    }

    /// Refused when one of `ids` cannot go in the highlight (someone else's, unknown, deleted, not yet live).
    public static func cannotHold(_ id: String) -> EphemeraError {
        .unprocessable("segment_not_highlightable",
                       "Segment \(id) cannot go in a highlight: only your own segments that are live, expired or in your archive can.")
    }

    /// The cover asked for, which must be one of the highlight's segments (nil: the first).
    public static func validatedCover(_ cover: String?, among ids: [String]) throws -> String? {
        guard let cover else { return nil }
        guard ids.contains(cover) else {
            throw EphemeraError.badRequest("invalid_cover", "The cover must be one of the highlight's own segments.")
        }
        return cover
    }

    /// The cover shown: the chosen one while it is readable, else the first readable segment.
    public static func shownCover(chosen: String?, readable: [String]) -> String? {
        if let chosen, readable.contains(chosen) { return chosen }
        return readable.first
    }

    /// A new order of the owner's highlights: those of `requested` first (each one of theirs, once), then any
    /// left out in their present order — so a client that shows only the highlights with something in them can
    /// reorder those without knowing the empty ones.
    public static func validatedOrder(_ requested: [String], current: [String]) throws -> [String] {
        let named = Set(requested)
        guard !requested.isEmpty, named.count == requested.count, named.isSubset(of: Set(current)) else {
            throw EphemeraError.badRequest(
                "invalid_order", "Send ids of your own highlights, each once, in the order you want them.")
        }
        return requested + current.filter { !named.contains($0) }
    }
}
