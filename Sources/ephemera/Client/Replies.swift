import Foundation

/// The API's JSON as this client reads it: typed, so a reply the client does not understand is a clear error
/// instead of blanks.
enum Replies {
    struct Author: Decodable {
        var handle: String
    }

    /// `segment`, the fields the client shows.
    struct Segment: Decodable {
        var id: String
        var kind: String
        var state: String
        var durationSeconds: Double
        var author: Author
        var seen: Bool
        var caption: String?
        var publishAt: String?
        var createdAt: String
        var restorableUntil: String?
        var failureReason: String?
    }

    struct Story: Decodable {
        var segments: [Segment]
    }

    struct Items<Item: Decodable>: Decodable {
        var items: [Item]
    }

    struct TrayItem: Decodable {
        var author: Author
        var segmentCount: Int
        var ring: String
        var latestAt: String
    }

    /// `DELETE /api/v1/stories/{id}`.
    struct Deleted: Decodable {
        var id: String
        var state: String
        var restorableUntil: String?
    }

    struct Session: Decodable {
        var token: String
    }

    /// What a finished tus upload became (`GET` on its address).
    struct UploadStatus: Decodable {
        struct Made: Decodable {
            var id: String
        }
        var segments: [Made]?
    }
}

extension APIClient.Reply {
    /// The body as `type`, or a failure saying the server's answer is not what this client expects.
    func decoded<T: Decodable>(_ type: T.Type) throws -> T {
        do { return try JSONDecoder().decode(type, from: body) } catch {
            throw ClientFailure("The server's answer was not what this client expects (\(error)). Is it an Ephemera server?")
        }
    }
}
