import EphemeraCore
import EphemeraTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite struct RateLimitTests {
    @Test(arguments: Backend.all)
    func tooManyRequestsGet429WithRetryAfterUntilTimeRefillsTheBucket(backend: Backend) async throws {
        try await TestApp.run(backend, configure: { $0.rateLimits = true }) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
            let burst = Int(RateLimit.defaults[.comment]!.account.burst)
            for _ in 0..<burst {
                #expect(try await app.request(.post, "/api/v1/stories/\(id)/comments", token: bob, json: ["text": "hi"]).status == .created)
            }
            let limited = try await app.request(.post, "/api/v1/stories/\(id)/comments", token: bob, json: ["text": "hi"])
            #expect(limited.status == .tooManyRequests && limited.errorCode == "rate_limited")
            let retry = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...60).contains(retry))
            // Another account is not held back by bob's bucket.
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/comments", token: alice, json: ["text": "hi"]).status == .created)
            app.clock.advance(by: .seconds(Int64(retry)))
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/comments", token: bob, json: ["text": "hi"]).status == .created)

            // Sign-in attempts on one handle are limited too.
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<11 {
                statuses.append(try await app.request(.post, "/api/v1/sessions", json: ["handle": "alice", "password": "wrong one!"]).status)
            }
            #expect(statuses.prefix(10).allSatisfy { $0 == .unauthorized } && statuses.last == .tooManyRequests)
        }
    }

    @Test(arguments: Backend.all)
    func reportsAreRateLimited(backend: Backend) async throws {
        try await TestApp.run(backend, configure: { $0.rateLimits = true }) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
            let burst = Int(RateLimit.defaults[.report]!.account.burst)
            var statuses: [HTTPResponse.Status] = []
            for _ in 0...burst {
                statuses.append(try await app.request(.post, "/api/v1/stories/\(id)/reports", token: bob, json: ["reason": "spam"]).status)
            }
            #expect(statuses.first == .created && statuses.dropFirst().dropLast().allSatisfy { $0 == .conflict })
            #expect(statuses.last == .tooManyRequests)
        }
    }

    @Test(arguments: Backend.all)
    func aFactorScalesTheLimits(backend: Backend) async throws {
        try await TestApp.run(backend, configure: { $0.rateLimits = true; $0.rateLimitFactor = 0.1 }) { app in
            let alice = try await app.signUp("alice")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
            let allowed = Int(RateLimit.defaults[.share]!.account.burst * 0.1)
            for _ in 0..<allowed {
                #expect(try await app.request(.post, "/api/v1/stories/\(id)/shares", token: alice).status == .created)
            }
            #expect(try await app.request(.post, "/api/v1/stories/\(id)/shares", token: alice).status == .tooManyRequests)
        }
    }

    @Test func bucketRefillsAtItsRate() {
        let limit = RateLimit(burst: 2, perMinute: 60)
        var bucket = TokenBucket(limit: limit, now: Instant(milliseconds: 0))
        #expect(bucket.take(limit: limit, now: Instant(milliseconds: 0)) == nil)
        #expect(bucket.take(limit: limit, now: Instant(milliseconds: 0)) == nil)
        #expect(bucket.take(limit: limit, now: Instant(milliseconds: 0)) == 1)
        #expect(bucket.take(limit: limit, now: Instant(milliseconds: 1000)) == nil)
    }
}

/// Limits that keep one account from filling what everyone shares: posting, the media lane, password checks,
/// and the size of a posting form.
@Suite struct PostingLimitTests {
    /// A tus creation with the fields of a post.
    static func createUpload(_ app: TestApp, _ token: String, length: Int) async throws -> TestResponse {
        try await app.request(.post, "/api/v1/uploads", token: token, headers: [
            .init("Tus-Resumable")!: "1.0.0", .init("Upload-Length")!: String(length),
            .init("Upload-Metadata")!: "filename " + Data("photo.jpg".utf8).base64EncodedString(),
        ])
    }

    @Test(arguments: Backend.all)
    func postsAndUploadCreationsShareAPerAccountRateLimit(backend: Backend) async throws {
        // A tenth of the defaults: a burst of 2 posts, then one every 5 minutes.
        try await TestApp.run(backend, configure: { $0.rateLimits = true; $0.rateLimitFactor = 0.1 }) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let photo = try await MediaFixtures.shared.photo()
            #expect(try await app.post(alice, file: photo).status == .created)
            #expect(try await Self.createUpload(app, alice, length: 1000).status == .created)
            let refused = try await app.post(alice, file: photo)
            #expect(refused.status == .tooManyRequests && refused.errorCode == "rate_limited")
            let retry = try #require(refused.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...300).contains(retry))
            let upload = try await Self.createUpload(app, alice, length: 1000)
            #expect(upload.status == .tooManyRequests && upload.headers[.retryAfter] != nil)
            // bob is not held back by alice's bucket; alice posts again once it has refilled.
            #expect(try await app.post(bob, file: photo).status == .created)
            app.clock.advance(by: .seconds(Int64(retry)))
            #expect(try await app.post(alice, file: photo).status == .created)
            try await app.processJobs()
        }
    }

    @Test(arguments: Backend.all)
    func oneAccountCannotFillTheMediaLane(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let photo = try await MediaFixtures.shared.photo()
            // No worker runs here: every post waits in the media lane.
            for _ in 0..<MediaRules.maxProcessingPerAccount {
                #expect(try await app.post(alice, file: photo).status == .created)
            }
            let refused = try await app.post(alice, file: photo)
            #expect(refused.status == .tooManyRequests && refused.errorCode == "too_much_processing")
            #expect(refused.headers[.retryAfter] == String(MediaRules.processingRetryAfterSeconds))
            #expect(refused.errorMessage?.contains("12 of your stories are still being processed") == true)
            #expect(try await Self.createUpload(app, alice, length: 1000).errorCode == "too_much_processing")
            #expect(try await app.post(bob, file: photo).status == .created, "others still post")
            try await app.processJobs()
            #expect(try await app.post(alice, file: photo).status == .created, "once the lane has caught up")
            try await app.processJobs()
        }
    }

    @Test(arguments: Backend.all)
    func passwordRechecksAreRateLimited(backend: Backend) async throws {
        try await TestApp.run(backend, configure: { $0.rateLimits = true }) { app in
            let alice = try await app.signUp("alice")
            let burst = Int(RateLimit.defaults[.reauthenticate]!.account.burst)
            var statuses: [HTTPResponse.Status] = []
            for attempt in 0...burst {
                let path = attempt.isMultiple(of: 2) ? "/api/v1/me/stories" : "/api/v1/me"
                statuses.append(try await app.request(.delete, path, token: alice, json: ["password": "guess \(attempt)"]).status)
            }
            #expect(statuses.prefix(burst).allSatisfy { $0 == .forbidden } && statuses.last == .tooManyRequests, "\(statuses)")
            // The right password waits for the bucket too; then works.
            #expect(try await app.request(.delete, "/api/v1/me/stories", token: alice, json: ["password": "correct horse"]).status
                    == .tooManyRequests)
            app.clock.advance(by: .seconds(60))
            #expect(try await app.request(.delete, "/api/v1/me/stories", token: alice, json: ["password": "correct horse"]).status
                    == .accepted)
        }
    }

    @Test(arguments: Backend.all)
    func aFormWithTooManyFieldsIsRefused(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let photo = try await MediaFixtures.shared.photo()
            var fields: [String: String] = [:]
            for index in 0...FormLimits.maxFields { fields["extra\(index)"] = "x" }
            let crowded = try await app.post(alice, file: photo, fields: fields)
            #expect(crowded.status == .contentTooLarge && crowded.errorCode == "form_too_large")
            let long = try await app.post(alice, file: photo, fields: ["caption": String(repeating: "x", count: FormLimits.maxFieldBytes + 1)])
            #expect(long.status == .contentTooLarge && long.errorCode == "field_too_large")
            var heavy: [String: String] = [:]
            for index in 0..<5 { heavy["extra\(index)"] = String(repeating: "y", count: 60 * 1024) }
            let total = try await app.post(alice, file: photo, fields: heavy)
            #expect(total.status == .contentTooLarge && total.errorCode == "form_too_large")
            // Nothing was kept of any of them.
            #expect(try await app.request(.get, "/api/v1/users/alice/story", token: alice).decode(API.Story.self).segments.isEmpty)
        }
    }
}

/// Admission control: past `--max-in-flight`, refused at once with 503 and Retry-After; health checks never.
@Suite struct AdmissionTests {
    @Test(arguments: Backend.all)
    func pastTheLimitRequestsAreRefusedAtOnceAndAdmittedAgainWhenItClears(backend: Backend) async throws {
        // Two slow requests fill a limit of 2: first downloads wait for a watermarked copy no worker makes until the
        // test runs the jobs (a wait of a few seconds ran out before the knock on a busy machine).
        try await TestApp.run(backend, configure: { $0.maxInFlight = 2; $0.downloadWait = .seconds(60) }) { app in
            let alice = try await app.signUp("alice")
            let photo = try await MediaFixtures.shared.photo()
            let ids = [try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0],
                       try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0]]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for id in ids {
                    group.addTask { _ = try await app.request(.get, "/api/v1/stories/\(id)/download") }
                }
                // Wait until both are in (each has queued its job), then knock.
                for _ in 0..<1_500 where try await app.services.jobs.pendingCount() < 2 {
                    try await Task.sleep(for: .milliseconds(20))
                }
                let started = ContinuousClock.now
                let refused = try await app.request(.get, "/api/v1/tray", token: alice)
                #expect(ContinuousClock.now - started < .seconds(1), "refused at once, not queued")
                #expect(refused.status == .serviceUnavailable && refused.errorCode == "overloaded")
                #expect(refused.headers[.retryAfter] == "1")
                #expect(try await app.request(.get, "/healthz").status == .ok, "health checks are never refused")
                #expect(try await app.request(.get, "/readyz").status == .ok)
                try await app.processJobs()
                try await group.waitForAll()
            }
            #expect(try await app.request(.get, "/api/v1/tray", token: alice).status == .ok, "admitted again")
        }
    }
}

/// The password lane: a flood of sign-ins past what the hashing threads can check in time is refused at once
/// (503 `overloaded`, Retry-After) instead of queueing for half a minute; those admitted are answered.
@Suite struct PasswordLaneTests {
    @Test(arguments: Backend.all)
    func aFloodOfSignInsIsAnsweredOrRefusedAtOnce(backend: Backend) async throws {
        try await TestApp.run(backend, configure: {
            $0.bcryptCost = 8
            $0.passwordWaitSeconds = 0.2
            $0.rateLimits = false
        }) { app in
            _ = try await app.signUp("alice")
            let flood = 120
            let answers = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?, Duration).self) { group in
                for _ in 0..<flood {
                    group.addTask {
                        let started = ContinuousClock.now
                        let response = try await app.request(.post, "/api/v1/sessions",
                                                             json: ["handle": "alice", "password": "correct horse"])
                        return (response.status, response.headers[.retryAfter], ContinuousClock.now - started)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let signedIn = answers.filter { $0.0 == .created }
            let refused = answers.filter { $0.0 == .serviceUnavailable }
            #expect(signedIn.count + refused.count == flood, "only 201 or 503: \(Set(answers.map(\.0.code)))")
            #expect(signedIn.count >= 2, "the hashing threads kept working")
            #expect(!refused.isEmpty, "\(flood) sign-ins at once are more than 0.2 s of hashing")
            #expect(refused.allSatisfy { $0.1 == "1" }, "every refusal says when to come back")

            let samples = MetricsTests.samples(try await app.services.metrics.scrape(app.services))
            #expect(MetricsTests.value(samples, "ephemera_password_checks_refused_total") == Double(refused.count))
            #expect(MetricsTests.value(samples, "ephemera_password_checks_waiting") == 0)
            // The lane is empty again: the next sign-in is admitted.
            #expect(try await app.request(.post, "/api/v1/sessions",
                                          json: ["handle": "alice", "password": "correct horse"]).status == .created)
        }
    }
}
