import EphemeraCore
import EphemeraTestSupport
import Foundation
import HTTPTypes
import Testing

/// Every endpoint that reads or acts on a segment × every audience × every relation → the expected status.
@Suite struct AuthorizationMatrixTests {
    enum Relation: String, CaseIterable {
        case author, follower, closeFriend, stranger, signedOut, blocked, hiddenFrom
    }

    struct Endpoint: Sendable {
        var name: String
        var method: HTTPRequest.Method
        var path: @Sendable (String) -> String
        var json: [String: any Sendable]?
        /// The status when the caller may do it.
        var allowed: HTTPResponse.Status
        var needsAccount: Bool
        var authorOnly: Bool
        /// For what one cannot do to one's own story: the author's 400 code.
        var notToOneself: String? = nil
    }

    static let endpoints: [Endpoint] = [
        Endpoint(name: "read", method: .get, path: { "/api/v1/stories/\($0)" }, allowed: .ok, needsAccount: false, authorOnly: false),
        Endpoint(name: "media", method: .get, path: { "/media/\($0)/photo.jpg" }, allowed: .ok, needsAccount: false, authorOnly: false),
        Endpoint(name: "view", method: .post, path: { "/api/v1/stories/\($0)/views" }, allowed: .noContent, needsAccount: true, authorOnly: false),
        Endpoint(name: "like", method: .put, path: { "/api/v1/stories/\($0)/like" }, allowed: .noContent, needsAccount: true, authorOnly: false),
        Endpoint(name: "comments", method: .get, path: { "/api/v1/stories/\($0)/comments" }, allowed: .ok, needsAccount: false, authorOnly: false),
        Endpoint(name: "comment", method: .post, path: { "/api/v1/stories/\($0)/comments" }, json: ["text": "hi"], allowed: .created, needsAccount: true, authorOnly: false),
        Endpoint(name: "share", method: .post, path: { "/api/v1/stories/\($0)/shares" }, allowed: .created, needsAccount: true, authorOnly: false),
        // 202: allowed, and the watermarked copy is being made (no worker runs in these tests).
        Endpoint(name: "download", method: .get, path: { "/api/v1/stories/\($0)/download" }, allowed: .accepted, needsAccount: false, authorOnly: false),
        // The same for a client that decrypts: the key is handed out only where the download is allowed.
        Endpoint(name: "encrypted download", method: .get, path: { "/api/v1/stories/\($0)/download?encrypted=true" }, allowed: .accepted, needsAccount: false, authorOnly: false),
        Endpoint(name: "viewers", method: .get, path: { "/api/v1/stories/\($0)/viewers" }, allowed: .ok, needsAccount: true, authorOnly: true),
        Endpoint(name: "react", method: .put, path: { "/api/v1/stories/\($0)/reaction" }, json: ["emoji": "🔥"], allowed: .noContent, needsAccount: true, authorOnly: false, notToOneself: "cannot_react_to_self"),
        Endpoint(name: "unreact", method: .delete, path: { "/api/v1/stories/\($0)/reaction" }, allowed: .noContent, needsAccount: true, authorOnly: false),
        Endpoint(name: "reactions", method: .get, path: { "/api/v1/stories/\($0)/reactions" }, allowed: .ok, needsAccount: true, authorOnly: true),
        Endpoint(name: "reply", method: .post, path: { "/api/v1/stories/\($0)/replies" }, json: ["text": "hi"], allowed: .created, needsAccount: true, authorOnly: false, notToOneself: "cannot_reply_to_self"),
        Endpoint(name: "replies", method: .get, path: { "/api/v1/stories/\($0)/replies" }, allowed: .ok, needsAccount: true, authorOnly: false),
        Endpoint(name: "navigation", method: .post, path: { "/api/v1/stories/\($0)/navigation" }, json: ["event": "forward"], allowed: .noContent, needsAccount: false, authorOnly: false),
        Endpoint(name: "insights", method: .get, path: { "/api/v1/stories/\($0)/insights" }, allowed: .ok, needsAccount: true, authorOnly: true),
        Endpoint(name: "edit", method: .patch, path: { "/api/v1/stories/\($0)" }, json: ["altText": "a photo"], allowed: .ok, needsAccount: true, authorOnly: true),
        Endpoint(name: "receipt", method: .get, path: { "/api/v1/stories/\($0)/deletion-receipt" }, allowed: .conflict, needsAccount: true, authorOnly: true),
    ]

    /// Who sees a live segment of each audience (the visibility table of DESIGN.md).
    static let sees: [Audience: Set<Relation>] = [
        .public: [.author, .follower, .closeFriend, .stranger, .signedOut],
        .followers: [.author, .follower, .closeFriend],
        .closeFriends: [.author, .closeFriend],
    ]

    static func expected(_ endpoint: Endpoint, _ audience: Audience, _ relation: Relation) -> HTTPResponse.Status {
        if relation == .signedOut && endpoint.needsAccount { return .unauthorized }
        if endpoint.authorOnly { return relation == .author ? endpoint.allowed : .notFound }
        if endpoint.notToOneself != nil && relation == .author { return .badRequest }
        return sees[audience]!.contains(relation) ? endpoint.allowed : .notFound
    }

    /// The exact error code of a refusal: a hidden segment answers exactly as one that does not exist.
    static func expectedCode(_ endpoint: Endpoint, _ status: HTTPResponse.Status) -> String? {
        switch status {
        case .unauthorized: "unauthenticated"
        case .notFound: endpoint.name == "media" ? "media_not_found" : "story_not_found"
        case .conflict: "not_purged"
        case .badRequest: endpoint.notToOneself
        default: nil
        }
    }

    /// One account per relation to "author" (signed out has none): a follower, a close friend, a stranger, one
    /// who blocked the author, one the author hides stories from.
    static func accountsInEveryRelation(_ app: TestApp) async throws -> [Relation: String] {
        var tokens: [Relation: String] = [:]
        for relation in Relation.allCases where relation != .signedOut {
            tokens[relation] = try await app.signUp(relation.rawValue.lowercased())
        }
        let author = tokens[.author]!
        for relation in [Relation.follower, .closeFriend, .hiddenFrom] { try await app.follow(tokens[relation]!, "author") }
        _ = try await app.request(.put, "/api/v1/me/close-friends/closefriend", token: author)
        _ = try await app.request(.put, "/api/v1/me/hidden-from/hiddenfrom", token: author)
        _ = try await app.request(.put, "/api/v1/me/blocked/author", token: tokens[.blocked]!)
        return tokens
    }

    @Test(arguments: Backend.all)
    func everyEndpointAudienceAndRelation(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let tokens = try await Self.accountsInEveryRelation(app)
            let author = tokens[.author]!
            let photo = try await MediaFixtures.shared.photo()
            var segments: [Audience: String] = [:]
            for audience in Audience.allCases {
                segments[audience] = try await app.postLive(author, file: photo, fields: ["audience": audience.rawValue])[0]
            }
            for endpoint in Self.endpoints {
                for audience in Audience.allCases {
                    for relation in Relation.allCases {
                        let response = try await app.request(
                            endpoint.method, endpoint.path(segments[audience]!), token: tokens[relation], json: endpoint.json)
                        let expected = Self.expected(endpoint, audience, relation)
                        #expect(response.status == expected,
                                "\(endpoint.name) on a \(audience.rawValue) segment by \(relation.rawValue): \(response.text)")
                        #expect(response.errorCode == Self.expectedCode(endpoint, expected),
                                "\(endpoint.name) on a \(audience.rawValue) segment by \(relation.rawValue): \(response.text)")
                        // The data key goes exactly to whoever may read the segment (the ciphertext links are
                        // bearer links: the key, not the link, is what the visibility rule guards).
                        if endpoint.name == "read", response.status == .ok {
                            let body = try response.decode(API.Segment.self)
                            #expect(body.mediaKey != nil && body.encryptedMedia?.photo != nil,
                                    "a \(audience.rawValue) segment read by \(relation.rawValue) comes with its key")
                        }
                    }
                }
            }
        }
    }

    /// The highlight endpoints × audience × relation, a day after posting: a segment's audience reads it through
    /// the highlight (and only through it), its owner alone changes it, and a refusal is exactly the answer for a
    /// highlight or media that does not exist.
    @Test(arguments: Backend.all)
    func everyHighlightEndpointAudienceAndRelation(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let tokens = try await Self.accountsInEveryRelation(app)
            let author = tokens[.author]!
            let photo = try await MediaFixtures.shared.photo()
            var segments: [Audience: String] = [:]
            var highlights: [Audience: String] = [:]
            for audience in Audience.allCases {
                segments[audience] = try await app.postLive(author, file: photo, fields: ["audience": audience.rawValue])[0]
                highlights[audience] = try await app.request(
                    .post, "/api/v1/me/highlights", token: author,
                    json: ["title": audience.rawValue, "segmentIds": [segments[audience]!]]).decode(API.Highlight.self).id
            }
            app.clock.advance(by: .seconds(25 * 3600))
            try await app.services.sweeper.sweep()

            struct Case {
                var name: String
                var method: HTTPRequest.Method
                var path: String
                var json: [String: any Sendable]?
                var allowed: HTTPResponse.Status
                var ownerOnly: Bool
                var needsAccount: Bool
                var notFound: String
            }
            for audience in Audience.allCases {
                let (segment, highlight) = (segments[audience]!, highlights[audience]!)
                let cases = [
                    Case(name: "open", method: .get, path: "/api/v1/highlights/\(highlight)", allowed: .ok, ownerOnly: false,
                         needsAccount: false, notFound: "highlight_not_found"),
                    Case(name: "media through it", method: .get, path: "/media/\(segment)/photo.jpg?highlight=\(highlight)",
                         allowed: .ok, ownerOnly: false, needsAccount: false, notFound: "media_not_found"),
                    Case(name: "media past expiry", method: .get, path: "/media/\(segment)/photo.jpg", allowed: .ok,
                         ownerOnly: true, needsAccount: false, notFound: "media_not_found"),
                    Case(name: "segment past expiry", method: .get, path: "/api/v1/stories/\(segment)", allowed: .ok,
                         ownerOnly: true, needsAccount: false, notFound: "story_not_found"),
                    Case(name: "rename", method: .patch, path: "/api/v1/highlights/\(highlight)", json: ["title": "Renamed"],
                         allowed: .ok, ownerOnly: true, needsAccount: true, notFound: "highlight_not_found"),
                ]
                for endpoint in cases {
                    for relation in Relation.allCases {
                        let response = try await app.request(endpoint.method, endpoint.path, token: tokens[relation],
                                                             json: endpoint.json)
                        let allowed = endpoint.ownerOnly ? relation == .author : Self.sees[audience]!.contains(relation)
                        let expected: HTTPResponse.Status = relation == .signedOut && endpoint.needsAccount
                            ? .unauthorized : allowed ? endpoint.allowed : .notFound
                        let code = expected == .unauthorized ? "unauthenticated" : expected == .notFound ? endpoint.notFound : nil
                        #expect(response.status == expected && response.errorCode == code,
                                "\(endpoint.name) of a \(audience.rawValue) highlight by \(relation.rawValue): \(response.text)")
                    }
                }
                // The profile's row lists it exactly for those who may open it; the blocked cannot find the profile.
                for relation in Relation.allCases {
                    let row = try await app.request(.get, "/api/v1/users/author/highlights", token: tokens[relation])
                    if relation == .blocked {
                        #expect(row.status == .notFound && row.errorCode == "user_not_found")
                        continue
                    }
                    let listed = try row.decode(API.Highlights.self).items.contains { $0.id == highlight }
                    #expect(listed == Self.sees[audience]!.contains(relation),
                            "the row for \(relation.rawValue) with a \(audience.rawValue) highlight")
                }
                for relation in Relation.allCases where relation != .author {
                    let refused = try await app.request(.delete, "/api/v1/highlights/\(highlight)", token: tokens[relation])
                    #expect(refused.status == (relation == .signedOut ? .unauthorized : .notFound))
                }
                #expect(try await app.request(.delete, "/api/v1/highlights/\(highlight)", token: author).status == .noContent)
            }
        }
    }

    /// The operational endpoints take no segment: their answer does not depend on who asks. The OpenAPI document
    /// is everyone's; metrics go by address only (`--metrics-allow`), and a request without a peer address —
    /// as here — is refused whatever its session, an admin's included.
    @Test(arguments: Backend.all)
    func operationalEndpointsIgnoreTheSession(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let member = try await app.signUp("member")
            let admin = try await app.signUp("admin")
            #expect(try await app.services.accounts.setRole(handle: "admin", role: .admin))
            for token in [nil, member, admin] {
                #expect(try await app.request(.get, "/api/v1/openapi.json", token: token).status == .ok)
                let metrics = try await app.request(.get, "/metrics", token: token)
                #expect(metrics.status == .forbidden && metrics.errorCode == "metrics_forbidden")
                #expect(try await app.request(.get, "/healthz", token: token).status == .ok)
            }
        }
    }
}
