import EphemeraApp
import EphemeraCore
import EphemeraTestSupport
import Foundation
import Testing

/// Faults injected through the ports (`PortOverrides`): whatever fails, nothing half-made is ever visible and
/// nothing is left behind.
@Suite struct FaultInjectionTests {
    /// Runs processing as the worker would, retries and backoff included, until no job is left.
    func processWithRetries(_ app: TestApp) async throws {
        for _ in 0..<JobKind.processUpload.maxAttempts {
            try await app.processJobs()
            app.clock.advance(by: .seconds(300))
        }
        try await app.processJobs()
    }

    func expectFailedCleanly(_ app: TestApp, token: String, id: String) async throws {
        let response = try await app.request(.get, "/api/v1/stories/\(id)", token: token)
        let segment = try response.decode(API.Segment.self)
        #expect(response.status == .ok && segment.state == "failed")
        let reason = try #require(segment.failureReason)
        #expect(!reason.contains("/") && !reason.isEmpty, "\(reason)")
        #expect(segment.media.photo == nil)
        #expect(try await app.services.keyring.key(for: id) == nil)
        #expect(!FileManager.default.fileExists(atPath: app.dataDirectory + "/media/\(id)"))
        let story = try await app.request(.get, "/api/v1/users/alice/story", token: token).decode(API.Story.self)
        #expect(story.segments.isEmpty)
        #expect(try await app.audit().isEmpty)
    }

    @Test(arguments: Backend.all)
    func aBlobStoreWhoseFsyncFailsFailsThePostCleanly(backend: Backend) async throws {
        try await TestApp.run(backend, ports: .failingBlobFsync) { app in
            let alice = try await app.signUp("alice")
            let posted = try await app.post(alice, file: try await MediaFixtures.shared.photo())
            #expect(posted.status == .created)
            let id = try #require(try posted.decode(API.Posted.self).segments.first?.id)
            // Never retried into a false success: every attempt fails, then the segment does.
            try await processWithRetries(app)
            try await expectFailedCleanly(app, token: alice, id: id)
        }
    }

    @Test(arguments: Backend.all)
    func aTranscoderThatDiesMidJobLeavesNothingHalfMade(backend: Backend) async throws {
        try await TestApp.run(backend, ports: PortOverrides(transcoder: DyingTranscoder())) { app in
            let alice = try await app.signUp("alice")
            let posted = try await app.post(alice, file: try await MediaFixtures.shared.photo())
            let id = try #require(try posted.decode(API.Posted.self).segments.first?.id)
            try await app.processJobs()
            // Between attempts: still processing, invisible, and no partial output anywhere.
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self).state == "processing")
            #expect(try await app.services.media.renditions(segmentID: id).isEmpty)
            try await processWithRetries(app)
            try await expectFailedCleanly(app, token: alice, id: id)
        }
    }

    /// A crash between making a segment's key and committing its row leaves a key no segment names; the next
    /// start removes it once it is older than any post in flight, and never a key a row names.
    @Test(arguments: Backend.all)
    func aKeyLeftByACrashBeforeItsRowCommittedIsRemoved(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo())[0]
            _ = try await app.services.keyring.createKey(for: "stray")
            #expect(try await app.audit() == ["data key stray belongs to no segment"])
            // Make both keys look an hour old (the keyring folder records when each was made).
            let folder = app.services.configuration.resolvedKeyringDirectory + "/keys/"
            for name in ["stray", id] {
                try FileManager.default.setAttributes([.modificationDate: (app.clock.now() - .seconds(3600)).date],
                                                      ofItemAtPath: folder + name + ".key")
            }
            #expect(try await app.services.auditor.removeStrayKeys(madeBefore: app.clock.now() - .seconds(7200)).isEmpty)
            #expect(try await app.services.auditor.removeStrayKeys(madeBefore: app.clock.now() - .seconds(600)) == ["stray"])
            #expect(try await app.services.keyring.key(for: id) != nil)
            // A running node's sweeper finds them too (every StrayKeys.sweepInterval), not only the next start;
            // a young one may be a post in flight and stays.
            _ = try await app.services.keyring.createKey(for: "stray-old")
            _ = try await app.services.keyring.createKey(for: "stray-young")
            try FileManager.default.setAttributes([.modificationDate: (app.clock.now() - .seconds(3600)).date],
                                                  ofItemAtPath: folder + "stray-old.key")
            #expect(try await app.services.sweeper.sweepResidue() == ["stray-old"])
            #expect(try await app.audit() == ["data key stray-young belongs to no segment"])
            try await app.services.keyring.destroyKey(for: "stray-young")
        }
    }
}
