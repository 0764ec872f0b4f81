import Foundation
import HummingbirdTesting
import NIOCore

/// The API's bodies as tests read them: `Codable` types checked field by field against the contract (API.md),
/// instead of dictionaries where a misspelt key or a wrong type reads as "absent".
public enum API {
    public struct ErrorBody: Decodable, Sendable, Equatable {
        public struct Detail: Decodable, Sendable, Equatable {
            public var code: String
            public var message: String
        }
        public var error: Detail
    }

    public struct Author: Decodable, Sendable, Equatable {
        public var handle: String
        public var displayName: String
    }

    public struct Segment: Decodable, Sendable, Equatable {
        public struct Media: Decodable, Sendable, Equatable {
            public var poster: String?
            public var video: String?
            public var photo: String?
        }
        public struct Counts: Decodable, Sendable, Equatable {
            public var views: Int?
            public var likes: Int
            public var comments: Int
            public var shares: Int
            public var downloads: Int
            public var reactions: Int?
        }
        public var id: String
        public var author: Author
        public var kind: String
        public var state: String
        public var createdAt: String
        public var expiresAt: String
        public var durationSeconds: Double
        public var width: Int
        public var height: Int
        public var caption: String?
        public var altText: String?
        public var publishAt: String?
        public var audience: String
        public var media: Media
        public var counts: Counts
        public var likedByMe: Bool
        public var myReaction: String?
        public var seen: Bool
        public var allowDownloads: Bool
        public var allowComments: Bool
        public var failureReason: String?
        public var restorableUntil: String?
        /// Why it was taken down, for its author and moderators.
        public var removal: Removal?
        /// The data key (base64url) and the ciphertext URLs, for a caller who may see it.
        public var mediaKey: String?
        public var encryptedMedia: Media?
    }

    /// `201` of `POST /api/v1/stories`.
    public struct Posted: Decodable, Sendable, Equatable {
        public var segments: [Segment]
    }

    public struct Page<Item: Decodable & Sendable & Equatable>: Decodable, Sendable, Equatable {
        public var items: [Item]
        public var nextCursor: String?
    }

    public struct Story: Decodable, Sendable, Equatable {
        public var author: Author
        public var segments: [Segment]
        public var ring: String
    }

    public struct Tray: Decodable, Sendable, Equatable {
        public struct Item: Decodable, Sendable, Equatable {
            public var author: Author
            public var ring: String
            public var latestAt: String
            public var segmentCount: Int
        }
        public var items: [Item]
    }

    public struct Profile: Decodable, Sendable, Equatable {
        public var handle: String
        public var displayName: String
        public var followerCount: Int
        public var followingCount: Int
        public var storyRing: String
        public var followedByMe: Bool
        public var mutedByMe: Bool
    }

    /// `{items:[segment]}` (`GET /api/v1/me/scheduled`).
    public struct Segments: Decodable, Sendable, Equatable {
        public var items: [Segment]
    }

    /// `highlight` (with `segments` when opened).
    public struct Highlight: Decodable, Sendable, Equatable {
        public struct Cover: Decodable, Sendable, Equatable {
            public var poster: String?
        }
        public var id: String
        public var title: String
        public var cover: Cover
        public var segmentCount: Int
        public var updatedAt: String
        public var segments: [Segment]?
    }

    /// `GET /api/v1/stories/{id}/insights`.
    public struct Insights: Decodable, Sendable, Equatable {
        public var impressions: Int
        public var reach: Int
        public var completionRate: Double
        public var tapsForward: Int
        public var tapsBack: Int
        public var exits: Int
        public var replies: Int
        public var reactions: Int
        public var shares: Int
        public var downloads: Int
        public var viewsByHour: [Int]

        public init(impressions: Int, reach: Int, completionRate: Double, tapsForward: Int, tapsBack: Int, exits: Int,
                    replies: Int, reactions: Int, shares: Int, downloads: Int, viewsByHour: [Int]) {
            self.impressions = impressions
            self.reach = reach
            self.completionRate = completionRate
            self.tapsForward = tapsForward
            self.tapsBack = tapsBack
            self.exits = exits
            self.replies = replies
            self.reactions = reactions
            self.shares = shares
            self.downloads = downloads
            self.viewsByHour = viewsByHour
        }
    }

    /// `GET /api/v1/me/on-this-day`.
    public struct OnThisDay: Decodable, Sendable, Equatable {
        public struct Item: Decodable, Sendable, Equatable {
            public var yearsAgo: Int
            public var date: String
            public var segments: [Segment]
        }
        public var items: [Item]
    }

    /// `GET /api/v1/users/{handle}/highlights`.
    public struct Highlights: Decodable, Sendable, Equatable {
        public var items: [Highlight]
    }

    /// A private reply.
    public struct Reply: Decodable, Sendable, Equatable {
        public var id: String
        public var from: Author
        public var text: String
        public var createdAt: String
    }

    /// `GET /api/v1/stories/{id}/reactions`.
    public struct Reactions: Decodable, Sendable, Equatable {
        public struct Recent: Decodable, Sendable, Equatable {
            public var account: Author
            public var emoji: String
        }
        public var counts: [String: Int]
        public var recent: [Recent]
    }

    public struct Comment: Decodable, Sendable, Equatable {
        public var id: String
        public var author: Author
        public var text: String
        public var createdAt: String
    }

    /// The author's viewer list of a segment.
    public struct Viewers: Decodable, Sendable, Equatable {
        public struct Viewer: Decodable, Sendable, Equatable {
            public var account: Author
            public var viewedAt: String
        }
        public var count: Int
        public var viewers: [Viewer]
        public var anonymousCount: Int
    }

    /// `GET /api/v1/me/activity`.
    public struct Activity: Decodable, Sendable, Equatable {
        public struct Item: Decodable, Sendable, Equatable {
            public var id: String
            public var kind: String
            public var actor: Author
            public var segmentId: String?
            public var text: String?
            public var createdAt: String
            public var read: Bool
        }
        public var items: [Item]
        public var nextCursor: String?
        public var unreadCount: Int
    }

    /// An entry of `GET /api/v1/me/profile-views`.
    public struct ProfileView: Decodable, Sendable, Equatable {
        public var account: Author
        public var viewedAt: String
    }

    /// `GET /api/v1/uploads/{id}`: where a tus upload stands, and what it became.
    public struct UploadStatus: Decodable, Sendable, Equatable {
        public struct Failure: Decodable, Sendable, Equatable {
            public var code: String
            public var message: String
        }
        public var id: String
        public var length: Int64
        public var offset: Int64
        public var expiresAt: String
        public var complete: Bool
        public var segments: [Segment]
        public var failure: Failure?
    }

    /// An account as the API shows it to itself (`/api/v1/me`, a new session).
    public struct Account: Decodable, Sendable, Equatable {
        public var id: String
        public var handle: String
        public var displayName: String
        public var role: String
        public var createdAt: String
        /// Only to the account itself.
        public var settings: Settings?
    }

    public struct Settings: Decodable, Sendable, Equatable {
        public var defaultAudience: String
        public var allowDownloads: Bool
        public var allowComments: Bool
        public var viewHistory: Bool
        public var archiveExpired: Bool
        /// `en`, `fr`, or nil (the browser's language).
        public var language: String?
    }

    public struct Session: Decodable, Sendable, Equatable {
        public var account: Account
        public var token: String
    }

    /// `GET /api/v1/stories/{id}/download?encrypted=true`.
    public struct EncryptedDownload: Decodable, Sendable, Equatable {
        public var mediaKey: String
        public var url: String
        public var filename: String
        public var contentType: String
    }

    public struct ShareLink: Decodable, Sendable, Equatable {
        public var shareUrl: String
    }

    public struct Report: Decodable, Sendable, Equatable {
        public var id: String
        public var segmentId: String
        public var reason: String
        public var details: String?
        public var status: String
        public var createdAt: String
        public var resolvedBy: Author?
        public var resolvedAt: String?
    }

    /// A segment in the moderation queue, with its open reports.
    public struct QueueItem: Decodable, Sendable, Equatable {
        public var segment: Segment
        public var reportCount: Int
        public var reasons: [String: Int]
        public var firstReportedAt: String
        public var reports: [Report]
    }

    public struct Appeal: Decodable, Sendable, Equatable {
        public var id: String
        public var segmentId: String
        public var message: String
        public var createdAt: String
        public var decision: String?
        public var decidedAt: String?
        public var note: String?
    }

    /// An appeal waiting for a decision, as moderators see it.
    public struct OpenAppeal: Decodable, Sendable, Equatable {
        public var appeal: Appeal
        public var segment: Segment
        public var takedownReason: String
        public var takenDownAt: String
        public var takenDownBy: Author?
        public var canDecide: Bool
    }

    public struct Decision: Decodable, Sendable, Equatable {
        public var appeal: Appeal
        public var segment: Segment
    }

    public struct LogEntry: Decodable, Sendable, Equatable {
        public var id: String
        public var at: String
        public var action: String
        public var segmentId: String?
        public var subjectId: String?
        public var actor: Author?
        public var reason: String?
        public var detail: String?
    }

    /// Why a segment was removed, for its author.
    public struct Removal: Decodable, Sendable, Equatable {
        public var reason: String
        public var removedAt: String
        public var legalHoldUntil: String?
        public var canAppeal: Bool
        public var appeal: Appeal?
    }

    public struct Deleted: Decodable, Sendable, Equatable {
        public var id: String
        public var state: String
        public var restorableUntil: String?
        public var legalHoldUntil: String?
    }

    /// `GET …/download` while the watermarked copy is being made (202).
    public struct DownloadPreparing: Decodable, Sendable, Equatable {
        public var state: String
        public var retryAfter: Int
    }

    /// `GET /readyz`.
    public struct Readiness: Decodable, Sendable, Equatable {
        public var status: String
        public var database: String
        public var mediaStore: String

        public init(status: String, database: String, mediaStore: String) {
            self.status = status
            self.database = database
            self.mediaStore = mediaStore
        }
    }

    /// `DELETE /api/v1/me/stories`: every segment of mine is purging.
    public struct Purging: Decodable, Sendable, Equatable {
        public var state: String
        public var segments: Int

        public init(state: String, segments: Int) {
            self.state = state
            self.segments = segments
        }
    }

    public struct Receipt: Decodable, Sendable, Equatable {
        public struct Entry: Decodable, Sendable, Equatable {
            public var store: String
            public var removed: String
            public var at: String

            public init(store: String, removed: String, at: String) {
                self.store = store
                self.removed = removed
                self.at = at
            }
        }
        public var segmentID: String
        public var kind: String
        public var uploadedAt: String
        public var purgeStartedAt: String
        public var purgedAt: String
        public var entries: [Entry]
        public var kept: String
        public var noReadableCopyAfter: String
    }
}

extension TestResponse {
    /// The body decoded as `type`; a body that does not have the contract's shape fails the test with the text.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(buffer: body))
        } catch {
            throw TestFailure("\(status) body is not a \(type): \(error) — \(String(buffer: body).prefix(500))")
        }
    }

    /// The error of a refusal, in the API's shape (`{"error": {"code", "message"}}`).
    public var error: API.ErrorBody.Detail? { try? decode(API.ErrorBody.self).error }
    /// `error.code` of an error body.
    public var errorCode: String? { error?.code }
    public var errorMessage: String? { error?.message }
}

extension ServerProcess.Reply {
    /// The body decoded as `type`; a body that does not have the contract's shape fails the test with the text.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch {
            throw TestFailure("\(status) body is not a \(type): \(error) — \(String(decoding: body, as: UTF8.self).prefix(500))")
        }
    }
}
