import EphemeraApp
import EphemeraCore
import EphemeraStore
import EphemeraTestSupport
import Foundation
import SQLKit
import Testing

/// Several nodes on one PostgreSQL database (DESIGN.md, "Growing past one machine"): caches invalidated through
/// LISTEN/NOTIFY, jobs fenced by their attempt, one sweeper at a time, rate limits counted across nodes. The
/// whole cluster — processes, a replica, nginx — is `script/cluster-test`; these prove each mechanism on its own.
@Suite struct ClusterTests {
    static var postgres: [Backend] { Backend.all.filter { $0.database == .postgres } }

    /// Waits for `condition` (another node's notification arriving), failing after `limit` — shorter than the
    /// caches' own 5 s bound, so only a notification can satisfy it.
    static func eventually(within limit: Duration = .seconds(3), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return try await condition()
    }

    @Test func changeNoticesRoundTrip() {
        let notice = ChangeNotice(node: "n1", trays: false, sessions: true, viewers: ["b", "a"])
        #expect(notice.payload == "n1|s|a,b")
        #expect(ChangeNotice.parse(notice.payload) == .change(notice))
        #expect(ChangeNotice.parse("-|j") == .jobQueued)
        #expect(ChangeNotice.parse("-|r|16/B374D848") == .replicaBehind(lsn: 0x16_B374_D848))
        #expect(ChangeNotice.parse("garbage") == .unreadable)
        // Too many viewers for one notification: every tray instead.
        let many = ChangeNotice(node: "n1", trays: false, sessions: false, viewers: (0..<1000).map { "viewer-\($0)" })
        #expect(many.payload.utf8.count < 8000 && ChangeNotice.parse(many.payload) == .change(
            ChangeNotice(node: "n1", trays: true, sessions: false, viewers: [])))
        #expect(ReadReplica.lsn("0/0") == 0 && ReadReplica.lsn("x/1") == nil && ReadReplica.lsn("1") == nil)
    }

    @Test(arguments: postgres)
    func anotherNodesWritesEmptyThisNodesCachesAtOnce(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let node = try await app.openNode("b")
            let listening = Task { await node.changeListener.run() }
            defer { listening.cancel() }
            #expect(try await Self.eventually { node.changeListener.subscriptionCount == 1 })

            // Node B has alice's session cached; node A ends it.
            let hash = IDs.hash(token: alice)
            #expect(try await node.accounts.account(sessionTokenHash: hash) != nil)
            #expect(node.database.sessionCache.lookup(tokenHash: hash) != nil)
            try await app.request(.delete, "/api/v1/sessions/current", token: alice)
            #expect(try await Self.eventually { node.database.sessionCache.lookup(tokenHash: hash) == nil },
                    "the sign-out reached node B's cache")
            #expect(try await node.accounts.account(sessionTokenHash: hash) == nil)

            // A tray cached on node B goes when node A changes the graph.
            let bob = try await app.signUp("bob")
            let bobID = try await app.request(.get, "/api/v1/me", token: bob).decode(API.Account.self).id
            let cache = node.database.trayCache
            cache.store(viewer: bobID, payload: Data("cached".utf8), stamp: cache.stamp(viewer: bobID), now: app.clock.now(),
                        validUntil: app.clock.now() + .seconds(60))
            #expect(cache.lookup(viewer: bobID, now: app.clock.now()) != nil)
            let carol = try await app.signUp("carol")
            let story = try await app.postLive(carol, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
            try await app.follow(bob, "carol")
            #expect(try await Self.eventually { cache.lookup(viewer: bobID, now: app.clock.now()) == nil },
                    "the follow reached node B's tray cache")

            // A view on node A (its notice follows its commit) drops that viewer's tray on node B, and only theirs.
            // Node A's own background work may empty every tray at any moment (a sweep, a job's tidying), which
            // proves nothing either way: then the round is tried again.
            var onlyTheViewersTray = false
            for _ in 0..<5 where !onlyTheViewersTray {
                for viewer in [bobID, "someone-else"] {
                    cache.store(viewer: viewer, payload: Data("cached".utf8), stamp: cache.stamp(viewer: viewer),
                                now: app.clock.now(), validUntil: app.clock.now() + .seconds(60))
                }
                #expect(try await app.request(.post, "/api/v1/stories/\(story)/views", token: bob).status == .noContent)
                #expect(try await Self.eventually { cache.lookup(viewer: bobID, now: app.clock.now()) == nil },
                        "the view reached node B's tray cache")
                onlyTheViewersTray = cache.lookup(viewer: "someone-else", now: app.clock.now()) != nil
            }
            #expect(onlyTheViewersTray, "a view's notice dropped only its viewer's tray")

            // The listening connection is cut: node B empties and bypasses its caches, listens again, caches again.
            let pid = try #require(node.changeListener.backendPID)
            try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT pg_terminate_backend(\(bind: pid))").run()
            }
            #expect(try await Self.eventually { node.changeListener.subscriptionCount == 2 }, "it listened again")
            cache.store(viewer: bobID, payload: Data("cached".utf8), stamp: cache.stamp(viewer: bobID), now: app.clock.now(),
                        validUntil: app.clock.now() + .seconds(60))
            #expect(cache.lookup(viewer: bobID, now: app.clock.now()) != nil, "caching resumed once it listened again")
            listening.cancel()
            await listening.value
            await node.shutdown()
        }
    }

    @Test(arguments: postgres)
    func aJobTakenOverCannotBeFinishedByItsFormerHolder(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let queue = app.services.jobs
            let database = app.services.database
            _ = try await queue.enqueueUnlessPending(.purgeSegment(segmentID: "nothing-here"), runAt: app.clock.now())
            let first = try #require(try await queue.claim(kinds: [.purgeSegment], now: app.clock.now(), lease: .seconds(30)))
            // Node A went quiet: its lease ran out and node B claimed the job.
            app.clock.advance(by: .seconds(31))
            let node = try await app.openNode("b")
            let second = try #require(try await node.jobs.claim(kinds: [.purgeSegment], now: app.clock.now(), lease: .seconds(30)))
            #expect(second.id == first.id && second.attempt == first.attempt + 1)
            let claimedBy = try await database.withConnection { sql in
                try await sql.raw("SELECT claimed_by FROM jobs WHERE id = \(bind: first.id)").first()?
                    .decode(column: "claimed_by", as: String.self)
            }
            #expect(claimedBy == "b")

            // Node A wakes up and tries to commit a step of its attempt: refused, and nothing of it was written.
            await #expect(throws: JobFenceLost.self) {
                try await JobFence.$current.withValue(first) {
                    try await database.transaction { sql in
                        try await sql.raw("INSERT INTO rate_buckets (key, tokens, updated_at) VALUES ('zombie', 1, 0)").run()
                    }
                }
            }
            // Nor write objects: workers check before storing renditions.
            await #expect(throws: JobFenceLost.self) {
                try await JobFence.$current.withValue(first) { try await database.checkFence() }
            }
            try await JobFence.$current.withValue(second) { try await database.checkFence() }
            // The successor's step commits.
            try await JobFence.$current.withValue(second) {
                try await node.database.transaction { sql in
                    try await sql.raw("INSERT INTO rate_buckets (key, tokens, updated_at) VALUES ('successor', 1, 0)").run()
                }
            }
            let keys = try await database.withConnection { sql in
                try await sql.raw("SELECT key FROM rate_buckets ORDER BY key").all().map { try $0.decode(column: "key", as: String.self) }
            }
            #expect(keys == ["successor"])
            // And the former holder cannot complete the job either.
            try await queue.complete(first, at: app.clock.now())
            #expect(try await queue.state(jobID: first.id) == .running)
            try await node.jobs.complete(second, at: app.clock.now())
            #expect(try await queue.state(jobID: first.id) == .done)
            await node.shutdown()
        }
    }

    @Test(arguments: postgres)
    func oneNodeSweepsAtATime(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let node = try await app.openNode("b")
            let skipped = try await app.services.database.whileHolding(lock: "ephemera-expiry-sweeper") {
                try await node.sweeper.sweep()
            }
            #expect(skipped == .some(nil), "node B skipped its pass while node A held the sweeper's lock")
            #expect(try await node.sweeper.sweep() != nil, "and sweeps once the lock is free")
            await node.shutdown()
        }
    }

    @Test(arguments: postgres)
    func rateLimitsCountPerAccountAcrossNodes(backend: Backend) async throws {
        try await TestApp.run(backend, configure: { $0.rateLimits = true }) { app in
            _ = try await app.signUp("alice")
            let node = try await app.openNode("b")
            // Sign-in allows 10 attempts per handle in a burst; five through each node use them all up.
            for attempt in 0..<10 {
                let identity = attempt.isMultiple(of: 2) ? app.services.identity : node.identity
                _ = try await identity.signIn(handle: "alice", password: "correct horse", address: "192.0.2.\(attempt)")
            }
            let refused = await #expect(throws: EphemeraError.self) {
                _ = try await node.identity.signIn(handle: "alice", password: "correct horse", address: "192.0.2.99")
            }
            #expect(refused?.code == "rate_limited")
            await node.shutdown()
        }
    }

    /// Behind a trusted balancer the address limits count the client `X-Forwarded-For` names; without
    /// `--trusted-proxies` the header is ignored and every request counts against the peer.
    @Test func theClientAddressComesFromForwardedForOnlyBehindTrustedProxies() async throws {
        for trusted in [true, false] {
            let directory = NSTemporaryDirectory() + "ephemera-proxies-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let server = ServerProcess(dataDirectory: directory, databaseURL: nil,
                                       extraArguments: trusted ? ["--trusted-proxies", "127.0.0.1/32,::1"] : [])
            try await server.start()
            func signUp(_ handle: String, from client: String) async throws -> Int {
                try await server.request("POST", "/api/v1/accounts", json: ["handle": handle, "password": "correct horse"],
                                         headers: ["X-Forwarded-For": client]).status
            }
            // Sign-up allows a burst of 5 per address.
            for index in 0..<5 {
                #expect(try await signUp("user\(index)", from: trusted ? "198.51.100.1" : "198.51.100.\(index + 1)") == 201)
            }
            #expect(try await signUp("user5", from: "198.51.100.1") == 429, "the sixth from one address is refused")
            // Another client behind the balancer has room of its own; without trusted proxies it is the same peer.
            #expect(try await signUp("user6", from: "198.51.100.77") == (trusted ? 201 : 429))
            _ = try await server.terminate()
        }
    }
}
