import EphemeraCore
import EphemeraStore
import EphemeraTestSupport
import Foundation
import Testing

/// The SQL predicate (list reads) and the pure function (single reads) must agree on every combination of
/// state, audience, time and relation.
@Suite struct VisibilityAgreementTests {
    @Test(arguments: Backend.all)
    func sqlPredicateAgreesWithThePureFunction(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let services = app.services
            let now = app.clock.now()
            var accounts: [String: String] = [:]
            for handle in ["author", "follower", "friend", "stranger", "hidden", "blocked", "blocker"] {
                let account = Account(id: IDs.make(), handle: handle, displayName: handle, role: .member,
                                      createdAt: now, settings: AccountSettings())
                try await services.accounts.create(account, passwordHash: "x")
                accounts[handle] = account.id
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
                        segments.append(Segment(
                            id: IDs.make(), authorID: author, kind: .photo, state: state, audience: audience,
                            caption: nil, createdAt: now - .seconds(60),
                            expiresAt: Instant(milliseconds: now.milliseconds + expiresIn), uploadID: "u"))
                    }
                }
            }
            try await services.database.transaction { sql in
                for s in segments {
                    try await sql.raw("""
                        INSERT INTO segments (id, author_id, upload_id, position, kind, state, audience, created_at,
                        expires_at, duration_ms, width, height) VALUES (\(bind: s.id), \(bind: s.authorID), 'u', 0, 'photo',
                        \(bind: s.state.rawValue), \(bind: s.audience.rawValue), \(bind: s.createdAt.milliseconds),
                        \(bind: s.expiresAt.milliseconds), 0, 1, 1)
                        """).run()
                }
            }
            var checked = 0
            for viewer in [nil] + accounts.values.map(Optional.some) {
                let fromSQL = Set(try await services.segments.story(authorID: author, viewer: viewer, now: now).map(\.id))
                let relations = try await services.graph.relations(viewer: viewer, author: author)
                let fromRule = Set(segments.filter {
                    isVisible($0, to: Viewer(accountID: viewer), at: now, graph: relations)
                }.map(\.id))
                #expect(fromSQL == fromRule, "viewer \(viewer ?? "signed out")")
                checked += 1
            }
            #expect(checked == 8)
            // The rows were made without media; remove them so the closing audit judges the real pipeline.
            try await services.database.withConnection { sql in try await sql.raw("DELETE FROM segments").run() }
        }
    }
}
