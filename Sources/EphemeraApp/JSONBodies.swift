import EphemeraCore
import EphemeraUseCases
import EphemeraStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// JSON response bodies of API.md. Field names are the contract.
struct AccountBody: Encodable {
    var id: String
    var handle: String
    var displayName: String
    var role: String
    var createdAt: String
    var settings: SettingsBody?

    init(_ account: Account, includeSettings: Bool) {
        id = account.id
        handle = account.handle
        displayName = account.displayName
        role = account.role.rawValue
        createdAt = account.createdAt.rfc3339
        settings = includeSettings ? SettingsBody(account.settings) : nil
    }
}

struct SettingsBody: Encodable {
    var defaultAudience: String
    var allowDownloads: Bool
    var allowComments: Bool
    var viewHistory: Bool
    var archiveExpired: Bool
    /// `en`, `fr`, or nil when the account follows the browser's language.
    var language: String?

    init(_ s: AccountSettings) {
        defaultAudience = s.defaultAudience.rawValue
        allowDownloads = s.allowDownloads
        allowComments = s.allowComments
        viewHistory = s.viewHistory
        archiveExpired = s.archiveExpired
        language = s.language?.rawValue
    }
}

struct AuthorBody: Encodable {
    var handle: String
    var displayName: String
    init(_ account: Account) {
        handle = account.handle
        displayName = account.displayName
    }
}

struct ProfileBody: Encodable {
    var handle: String
    var displayName: String
    var followerCount: Int
    var followingCount: Int
    var storyRing: String
    /// Whether the caller follows this account.
    var followedByMe: Bool
    /// Whether the caller muted this account.
    var mutedByMe: Bool

    init(_ profile: Profile) {
        handle = profile.account.handle
        displayName = profile.account.displayName
        followerCount = profile.followerCount
        followingCount = profile.followingCount
        storyRing = profile.ring.rawValue
        followedByMe = profile.followedByCaller
        mutedByMe = profile.mutedByCaller
    }
}

struct SegmentBody: Encodable {
    struct Media: Encodable {
        var poster: String?
        var video: String?
        var photo: String?
    }
    struct Counts: Encodable {
        /// Views are for the author only; others get null.
        var views: Int?
        var likes: Int
        var comments: Int
        var shares: Int
        var downloads: Int
        /// Quick reactions: for the author only, like views.
        var reactions: Int?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(views, forKey: .views)  // null, not absent, for everyone but the author
            try container.encode(reactions, forKey: .reactions)
            try container.encode(likes, forKey: .likes)
            try container.encode(comments, forKey: .comments)
            try container.encode(shares, forKey: .shares)
            try container.encode(downloads, forKey: .downloads)
        }

        enum CodingKeys: String, CodingKey { case views, likes, comments, shares, downloads, reactions }
    }
    var id: String
    var author: AuthorBody
    var kind: String
    var state: String
    var createdAt: String
    var expiresAt: String
    var durationSeconds: Double
    var width: Int
    var height: Int
    var caption: String?
    /// What the picture shows, for screen readers.
    var altText: String?
    /// When a scheduled segment goes live (its author is the only one who can read it until then).
    var publishAt: String?
    var audience: String
    var media: Media
    var counts: Counts
    var likedByMe: Bool
    /// The caller's quick reaction, if any.
    var myReaction: String?
    var seen: Bool
    var allowDownloads: Bool
    var allowComments: Bool
    var failureReason: String?
    var restorableUntil: String?
    /// For a caller who may see it: the data key (base64url) and the ciphertext URLs (API.md, "Media for clients
    /// that decrypt"); absent when the segment has no media (yet, or any more).
    var mediaKey: String?
    var encryptedMedia: Media?
    /// For the author of a removed segment: why, the appeal, the legal hold.
    var removal: RemovalBody?

    init(_ s: Segment, author: Account, viewer: Viewer, seen: Bool, liked: Bool = false, publicURL: String) {
        let isAuthor = viewer.accountID == s.authorID
        func url(_ rendition: Rendition) -> String? { mediaPath(s, rendition).map { publicURL + $0 } }
        id = s.id
        self.author = AuthorBody(author)
        kind = s.kind.rawValue
        state = s.state.rawValue
        createdAt = s.createdAt.rfc3339
        expiresAt = s.expiresAt.rfc3339
        durationSeconds = Double(s.durationMilliseconds) / 1000
        width = s.width
        height = s.height
        caption = s.caption
        altText = s.altText
        publishAt = s.publishAt?.rfc3339
        audience = s.audience.rawValue
        media = Media(poster: url(.poster) ?? url(.photo), video: url(.video), photo: url(.photo))
        counts = Counts(views: isAuthor ? s.viewCount : nil, likes: s.likeCount, comments: s.commentCount,
                        shares: s.shareCount, downloads: s.downloadCount)
        likedByMe = liked
        self.seen = seen
        allowDownloads = s.downloadsAllowed(author: author)
        allowComments = s.commentsAllowed(author: author)
        failureReason = isAuthor ? s.failureReason : nil
        restorableUntil = isAuthor ? s.restorableUntil?.rfc3339 : nil
    }
}

struct CommentBody: Encodable {
    var id: String
    var author: AuthorBody
    var text: String
    var createdAt: String

    init(_ comment: Comment, author: Account) {
        id = comment.id
        self.author = AuthorBody(author)
        text = comment.text
        createdAt = comment.createdAt.rfc3339
    }

    init(_ view: CommentView) {
        self.init(view.comment, author: view.author)
    }
}

/// A private reply (API.md, "Mute, reactions, private replies").
struct ReplyBody: Encodable {
    var id: String
    var from: AuthorBody
    var text: String
    var createdAt: String

    init(_ view: ReplyView) {
        id = view.reply.id
        from = AuthorBody(view.from)
        text = view.reply.text
        createdAt = view.reply.createdAt.rfc3339
    }
}

struct PageBody<Item: Encodable>: Encodable {
    var items: [Item]
    var nextCursor: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        // Always present: null at the end, as API.md says.
        try container.encode(nextCursor, forKey: .nextCursor)
    }

    enum CodingKeys: String, CodingKey { case items, nextCursor }
}

let jsonEncoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    return encoder
}()

/// Encodes `value` as a JSON response.
func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    jsonResponse(bytes: try jsonEncoder.encode(value), status: status)
}

/// A response of JSON already encoded (the tray cache keeps its answers encoded).
func jsonResponse(bytes data: Data, status: HTTPResponse.Status = .ok) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json; charset=utf-8"
    headers[.cacheControl] = "no-store"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// Decodes a small JSON request body, answering 400 `malformed_json` with what was wrong.
func decodeJSON<T: Decodable>(_ type: T.Type, from request: Request, context: AppRequestContext) async throws -> T {
    var request = request
    let buffer: ByteBuffer
    do {
        buffer = try await request.collectBody(upTo: context.maxUploadSize)
    } catch {
        throw EphemeraError(.tooLarge, "body_too_large", "The request body may be at most 64 KB.")
    }
    if NULCharacter.isEscaped(inJSON: buffer.readableBytesView) { throw NULCharacter.refused }
    do {
        return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
    } catch let DecodingError.keyNotFound(key, _) {
        throw EphemeraError.badRequest("missing_field", "The field '\(key.stringValue)' is required.")
    } catch let DecodingError.typeMismatch(_, context) {
        let field = context.codingPath.map(\.stringValue).joined(separator: ".")
        throw EphemeraError.badRequest("invalid_field", "The field '\(field)' has the wrong type.")
    } catch let DecodingError.valueNotFound(_, context) {
        let field = context.codingPath.map(\.stringValue).joined(separator: ".")
        throw EphemeraError.badRequest("invalid_field", "The field '\(field)' may not be null.")
    } catch {
        throw EphemeraError.badRequest("malformed_json", "The request body is not valid JSON.")
    }
}

/// `?limit=` (default 20, max 100) and `?cursor=` of a paginated request.
struct PageRequest {
    var limit: Int
    var cursor: PageCursor?

    static let invalidCursor = EphemeraError.badRequest("invalid_cursor", "The cursor is not one this server handed out.")

    /// `cursor: false` leaves `?cursor=` to the caller (feeds with their own cursor shape).
    init(_ request: Request, cursor parseCursor: Bool = true) throws {
        let query = request.uri.queryParameters
        if let text = query["limit"] {
            guard let value = Int(String(text)), (1...100).contains(value) else {
                throw EphemeraError.badRequest("invalid_limit", "limit must be a whole number from 1 to 100.")
            }
            limit = value
        } else {
            limit = 20
        }
        if parseCursor, let text = query["cursor"] {
            guard let cursor = PageCursor(encoded: String(text)) else { throw Self.invalidCursor }
            self.cursor = cursor
        }
    }
}

/// JSON bodies for segments, with their authors and whether `viewer` has seen and liked each.
func segmentBodies(_ services: AppServices, _ segments: [Segment], viewer: Viewer) async throws -> [SegmentBody] {
    try await services.reading.views(of: segments, for: viewer).map {
        SegmentBody($0, viewer: viewer, publicURL: services.publicURL)
    }
}

extension SegmentBody {
    init(_ view: SegmentView, viewer: Viewer, publicURL: String) {
        self.init(view.segment, author: view.author, viewer: viewer, seen: view.seen, liked: view.liked, publicURL: publicURL)
        myReaction = view.reaction
        if view.scheduled { state = "scheduled" }
        counts.reactions = view.reactionCount
        if let access = view.access {
            // Links on this site are paths; presigned object-store URLs are absolute already.
            func link(_ rendition: Rendition) -> String? {
                access.links[rendition].map { $0.hasPrefix("/") ? publicURL + $0 : $0 }
            }
            mediaKey = access.keyText
            encryptedMedia = Media(poster: link(.poster) ?? link(.photo), video: link(.video), photo: link(.photo))
        }
    }
}

/// The path of a segment's rendition on this site, when it has one to serve: the API gives it with the public
/// URL in front, pages as it is.
func mediaPath(_ segment: Segment, _ rendition: Rendition) -> String? {
    guard segment.mediaTag != nil, segment.state.hasMedia, Rendition.renditions(of: segment.kind).contains(rendition) else {
        return nil
    }
    return "/media/\(segment.id)/\(rendition.rawValue)"
}

/// The picture that stands for a segment: a video's poster, a photo itself.
func posterPath(_ segment: Segment) -> String? { mediaPath(segment, .poster) ?? mediaPath(segment, .photo) }
