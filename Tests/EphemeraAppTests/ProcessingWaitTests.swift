import EphemeraCore
import EphemeraTestSupport
import EphemeraWorkers
import Foundation
import Testing

/// `GET /api/v1/stories/{id}?wait=N` (issue 16): a request held while its segment is processing hears the moment
/// it is live, so clients (the composer, the benchmark) learn it without polling.
@Suite struct ProcessingWaitTests {
    @Test(arguments: Backend.all)
    func aHeldReadAnswersWhenTheSegmentIsLive(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let token = try await app.signUp("waiter")
            let posted = try await app.post(token, file: try await MediaFixtures.shared.photo())
            let id = try #require(try posted.decode(API.Posted.self).segments.first?.id)
            for bad in ["0", "31", "soon", "-1"] {
                let refused = try await app.request(.get, "/api/v1/stories/\(id)?wait=\(bad)", token: token)
                #expect(refused.status == .badRequest && refused.errorCode == "invalid_wait")
            }
            let before = app.services.segmentsProcessed.generation
            async let held = app.request(.get, "/api/v1/stories/\(id)?wait=30", token: token)
            // Once the request is held, the worker processes the upload and wakes it. (Reaching the wait takes a
            // session lookup and a read: on a busy machine more than any fixed number of yields.)
            try await Self.until { app.services.segmentsProcessed.waiting > 0 }
            #expect(app.services.segmentsProcessed.waiting == 1)
            try await app.processJobs()
            let answer = try await held
            #expect(answer.status == .ok)
            #expect(try answer.decode(API.Segment.self).state == "live")
            #expect(app.services.segmentsProcessed.generation > before && app.services.segmentsProcessed.waiting == 0)
            // A segment not processing answers at once, wait or not; someone else's is still a 404.
            let live = try await app.request(.get, "/api/v1/stories/\(id)?wait=30", token: token)
            #expect(try live.decode(API.Segment.self).state == "live")
            let stranger = try await app.signUp("stranger")
            let hidden = try await app.request(.get, "/api/v1/stories/nope?wait=5", token: stranger)
            #expect(hidden.status == .notFound)
        }
    }

    /// Returns once `condition` holds, checking every millisecond for at most 30 seconds.
    static func until(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
    }

    @Test func aWaiterWakesOnTheNextChangeAndNotBefore() async throws {
        let signal = ChangeSignal()
        let generation = signal.generation
        // A change already made since the generation was read: no wait at all.
        signal.notify()
        await signal.wait(after: generation, timeout: .seconds(60))
        // A change made while waiting wakes the waiter.
        let next = signal.generation
        async let woken: Void = signal.wait(after: next, timeout: .seconds(60))
        try await Self.until { signal.waiting > 0 }
        #expect(signal.waiting == 1)
        signal.notify()
        await woken
        #expect(signal.waiting == 0)
        // With no change, the timeout ends the wait and leaves nothing parked.
        await signal.wait(after: signal.generation, timeout: .milliseconds(1))
        #expect(signal.waiting == 0)
    }
}
