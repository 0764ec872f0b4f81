import EphemeraCore
import EphemeraStore
import EphemeraTestSupport
import Foundation
import HTTPTypes
import Testing

/// The SQL predicate (list reads) and the pure function (single reads) must agree on every combination of
/// state, audience, time and relation — in the story, the tray, For You, the ring and the share page.
@Suite struct VisibilityAgreementTests {
    @Test(arguments: Backend.all)
    func sqlPredicateAgreesWithThePureFunction(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let services = app.services
            let now = app.clock.now()
            var accounts: [String: String] = [:]
            var tokens: [String: String] = [:]
            for handle in ["author", "follower", "friend", "stranger", "hidden", "blocked", "blocker"] {
                let account = Account(id: IDs.make(), handle: handle, displayName: handle, role: .member,
                                      createdAt: now, settings: AccountSettings())
                try await services.accounts.create(account, passwordHash: "x")
                accounts[handle] = account.id
                let token = IDs.randomToken(bytes: 32)
                try await services.accounts.createSession(tokenHash: IDs.hash(token: token), accountID: account.id, at: now)
                tokens[account.id] = token
            }
            let author = accounts["author"]!
            for who in ["follower", "friend", "hidden", "blocked"] {
                try await services.graph.add(.follow, from: accounts[who]!, to: author, at: now)
            }
            try await services.graph.add(.closeFriend, from: author, to: accounts["friend"]!, at: now)
            try await services.graph.add(.closeFriend, from: author, to: accounts["hidden"]!, at: now)
            try await services.graph.add(.hiddenFrom, from: author, to: accounts["hidden"]!, at: now)
            try await services.graph.add(.block, from: author, to: accounts["blocked"]!, at: now)
            try await services.graph.add(.block, from: accounts["blocker"]!, to: author, at: now)

            var segments: [Segment] = []
            for state in SegmentState.allCases {
                for audience in Audience.allCases {
                    for expiresIn: Int64 in [-1000, 0, 1, 60_000] {
                        // Scheduled ones too: going live a moment ago, now, a moment ahead, later.
                        for publishIn: Int64? in state == .live ? [nil, -1, 0, 1, 30_000] : [nil] {
                            segments.append(Segment(
                                id: IDs.make(), authorID: author, kind: .photo, state: state, audience: audience,
                                caption: nil, createdAt: now - .seconds(60),
                                expiresAt: Instant(milliseconds: now.milliseconds + expiresIn), uploadID: "u",
                                publishAt: publishIn.map { Instant(milliseconds: now.milliseconds + $0) }))
                        }
                    }
                }
            }
            try await services.database.transaction { sql in
                for s in segments {
                    try await sql.raw("""
                        INSERT INTO segments (id, author_id, upload_id, position, kind, state, audience, created_at,
                        expires_at, duration_ms, width, height, publish_at) VALUES (\(bind: s.id), \(bind: s.authorID), 'u', 0, 'photo',
                        \(bind: s.state.rawValue), \(bind: s.audience.rawValue), \(bind: s.createdAt.milliseconds),
                        \(bind: s.expiresAt.milliseconds), 0, 1, 1, \(bind: s.publishAt?.milliseconds))
                        """).run()
                    try await sql.raw("""
                        INSERT INTO share_links (code, segment_id, created_at) VALUES (\(bind: "c" + s.id), \(bind: s.id), 0)
                        """).run()
                }
                // Every one of them in one highlight of the author's, in order.
                try await sql.raw("""
                    INSERT INTO highlights (id, owner_id, title, position, created_at, updated_at)
                    VALUES ('all', \(bind: author), 'All', 0, 0, 0)
                    """).run()
                for (position, s) in segments.enumerated() {
                    try await sql.raw("""
                        INSERT INTO highlight_segments (highlight_id, segment_id, position)
                        VALUES ('all', \(bind: s.id), \(bind: position))
                        """).run()
                }
            }
            let highlights = SQLHighlightStore(database: services.database)
            for viewer in [nil] + accounts.values.map(Optional.some) {
                let who = viewer.flatMap { id in accounts.first { $0.value == id }?.key } ?? "signed out"
                let relations = try await services.graph.relations(viewer: viewer, author: author)
                let visible = segments.filter { isVisible($0, to: Viewer(accountID: viewer), at: now, graph: relations) }
                let fromRule = Set(visible.map(\.id))
                // The story.
                let story = Set(try await services.segments.story(authorID: author, viewer: viewer, now: now).map(\.id))
                #expect(story == fromRule, "story for \(who)")
                // The ring, and the tray (nobody has seen anything yet).
                let ring = try await services.segments.ring(authorID: author, viewer: viewer, now: now)
                #expect(ring == StoryRing(visibleSegments: fromRule.count, unseenSegments: fromRule.count), "ring for \(who)")
                if let viewer {
                    // The tray holds the people I follow, and me.
                    let inTray = viewer == author || relations.viewerFollowsAuthor
                    let entry = try await services.segments.tray(viewer: viewer, now: now).first { $0.authorID == author }
                    #expect(entry?.segmentCount == (fromRule.isEmpty || !inTray ? nil : fromRule.count), "tray for \(who)")
                }
                // Through the highlight: the same audience past the story, in the highlight's order, and each
                // segment's media through it exactly when the rule says so.
                let throughHighlight = segments.filter {
                    isVisibleThroughHighlight($0, to: Viewer(accountID: viewer), at: now, graph: relations)
                }
                #expect(try await highlights.visibleSegments(highlightID: "all", viewer: viewer, now: now).map(\.id)
                        == throughHighlight.map(\.id), "highlight for \(who)")
                #expect(try await highlights.highlights(ownerID: author, viewer: viewer, now: now).first?.visible.map(\.id)
                        == throughHighlight.map(\.id), "highlight row for \(who)")
                #expect(fromRule.isSubset(of: Set(throughHighlight.map(\.id))), "a story's segment is readable in a highlight")
                // For You: the public ones among them, never my own.
                let forYou = try await services.segments.forYou(viewer: viewer, now: now, limit: 100, after: nil).items
                let expectedForYou = viewer == author ? [] : visible.filter { $0.audience == .public }.map(\.id)
                #expect(Set(forYou.map(\.id)) == Set(expectedForYou), "For You for \(who)")
                // The share page of every segment, over HTTP, against ShareRules.
                for segment in segments {
                    let expected: HTTPResponse.Status = switch ShareRules.answer(
                        for: segment, to: Viewer(accountID: viewer), at: now, graph: relations) {
                    case .show: .ok
                    case .notFound: .notFound
                    case .gone: .gone
                    }
                    let page = try await app.request(.get, "/s/c\(segment.id)", token: viewer.flatMap { tokens[$0] })
                    #expect(page.status == expected, "share page of a \(segment.state) \(segment.audience) segment for \(who)")
                    #expect((page.status == .ok) == fromRule.contains(segment.id))
                }
            }
            // The rows were made without media; remove them so the closing audit judges the real pipeline.
            try await services.database.withConnection { sql in
                try await sql.raw("DELETE FROM highlight_segments").run()
                try await sql.raw("DELETE FROM highlights").run()
                try await sql.raw("DELETE FROM segments").run()
            }
        }
    }
}
