import EphemeraCore
import EphemeraTestSupport
import Foundation
import HTTPTypes
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
