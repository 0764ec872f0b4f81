import EphemeraApp
import EphemeraCore
import EphemeraMedia
import EphemeraTestSupport
import Foundation
import EphemeraStore
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite struct BackupTests {
    @Test(arguments: Backend.withStores)
    func restoringABackupTakenBeforeAPurgeDoesNotBringTheSegmentBack(backend: Backend) async throws {
        let restoreDirectory = NSTemporaryDirectory() + "ephemera-restore-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: restoreDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: restoreDirectory) }
        let restoredURL = try await TestDatabase.make(backend, directory: restoreDirectory)
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let photo = try await MediaFixtures.shared.photo()
            let purged = try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0]
            let kept = try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0]
            let backup = app.dataDirectory + "-scratch/backup.tar"
            try await Backups.backup(services: app.services, output: backup)
            let listing = try ServerProcess.runTool("tar", ["--list", "--file", backup])
            if backend.media == .s3 {
                // The bucket is the operator's to back up: the backup holds the database and says so.
                #expect(!listing.contains("media/") && listing.contains("manifest.json"))
                #expect(Backups.contents(of: app.services.configuration).contains("database snapshot only"))
            } else {
                #expect(listing.contains("media/\(purged)/photo.jpg") && listing.contains("manifest.json"))
            }
            #expect(!listing.contains("keyring") && !listing.contains(".key"))

            _ = try await app.request(.delete, "/api/v1/stories/\(purged)?permanent=true", token: alice)
            try await app.processJobs()

            var configuration = AppConfiguration()
            configuration.dataDirectory = restoreDirectory
            configuration.databaseURL = restoredURL
            configuration.keyringDirectory = app.services.configuration.resolvedKeyringDirectory
            configuration.scratchDirectory = restoreDirectory + "/scratch"
            configuration.mediaStore = app.services.configuration.mediaStore
            configuration.s3 = app.services.configuration.s3
            let report = try await Backups.restore(backup: backup, configuration: configuration)
            #expect(report.segments == 2)
            #expect(report.purgedAgain == [purged])

            let restored = try await AppServices.open(configuration: configuration, clock: app.clock, logger: TestDatabase.quietLogger)
            #expect(try await restored.segments.segment(id: purged) == nil)
            #expect(try await restored.segments.segment(id: kept)?.state == .live)
            #expect(try await restored.media.decryptedData(segmentID: purged, rendition: .photo) == nil)
            #expect(try await restored.media.decryptedData(segmentID: kept, rendition: .photo)?.isEmpty == false)
            #expect(!FileManager.default.fileExists(atPath: restoreDirectory + "/media/\(purged)"))
            #expect(try await restored.auditor.findings().isEmpty)
            await restored.shutdown()
        }
    }

    /// `ephemera backup --output-dir` writes backup-TIME.tar and deletes the backups older than
    /// --backup-retention (what a receipt's noReadableCopyAfter counts on); anything else there stays.
    @Test func backupsInAFolderRotate() async throws {
        let directory = NSTemporaryDirectory() + "ephemera-rotate-" + UUID().uuidString
        let backups = directory + "-backups"
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: backups)
        }
        try FileManager.default.createDirectory(atPath: backups, withIntermediateDirectories: true)
        let now = Instant(Date())
        let old = Backups.rotatingName(at: now - .seconds(31 * 86400))
        let recent = Backups.rotatingName(at: now - .seconds(29 * 86400))
        for name in [old, recent, "notes.txt"] {
            FileManager.default.createFile(atPath: backups + "/" + name, contents: Data("x".utf8))
        }
        // What a backup killed with SIGKILL leaves (a partial tar, a staging folder with a plaintext snapshot)
        // goes once older than a backup could run; a young one may be a backup running now, and stays.
        let killedTar = Backups.rotatingName(at: now - .seconds(86400)) + ".partial"
        let killedStaging = Backups.rotatingName(at: now - .seconds(86400)) + ".staging-\(UUID().uuidString)"
        let running = Backups.rotatingName(at: now) + ".partial"
        FileManager.default.createFile(atPath: backups + "/" + killedTar, contents: Data("x".utf8))
        try FileManager.default.createDirectory(atPath: backups + "/" + killedStaging, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: backups + "/" + killedStaging + "/ephemera.sqlite", contents: Data("x".utf8))
        FileManager.default.createFile(atPath: backups + "/" + running, contents: Data("x".utf8))
        for name in [killedTar, killedStaging] {
            try FileManager.default.setAttributes([.modificationDate: (now - .seconds(86400)).date], ofItemAtPath: backups + "/" + name)
        }
        // The erasure ledger lets go of what no kept backup can bring back (older than the retention and a day).
        let keyring = try FileKeyring(directory: directory + "/keyring")
        let forgotten = Erasure(.segment, id: "seg_forgotten", at: now - .seconds(32 * 86400))
        let kept = Erasure(.account, id: "acct_kept", at: now - .seconds(30 * 86400))
        for erasure in [forgotten, kept] { try await keyring.recordErasure(erasure) }
        let result = try ServerProcess.runCommand(["backup", "--data-dir", directory, "--scratch-dir", directory + "-scratch",
                                                   "--output-dir", backups, "--backup-retention", "30d"])
        defer { try? FileManager.default.removeItem(atPath: directory + "-scratch") }
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("Deleted \(old) (older than --backup-retention)"), "\(result.output)")
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: backups))
        #expect(!left.contains(old) && left.contains(recent) && left.contains("notes.txt"))
        #expect(!left.contains(killedTar) && !left.contains(killedStaging) && left.contains(running), "\(left)")
        #expect(result.output.contains("Pruned 1 erasures older than --backup-retention"), "\(result.output)")
        #expect(try await keyring.erasures() == [kept])
        let written = try #require(left.first { $0.hasPrefix("backup-") && $0.hasSuffix(".tar") && $0 != recent })
        #expect(try ServerProcess.runTool("tar", ["--list", "--file", backups + "/" + written]).contains("manifest.json"))
        // One of the two, never both.
        let both = try ServerProcess.runCommand(["backup", "--data-dir", directory, "--output-dir", backups, "--output", "x.tar"])
        #expect(both.status == 2 && both.output.contains("--output-dir DIR (rotated by --backup-retention) or --output FILE"))
    }

    /// Restoring a backup taken before an account was deleted does not bring the account back: the erasure ledger
    /// (beside the keyring) is replayed before the restored server answers, and the old session is dead.
    @Test(arguments: Backend.all)
    func restoringABackupReplaysTheErasureLedger(backend: Backend) async throws {
        let restoreDirectory = NSTemporaryDirectory() + "ephemera-ledger-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: restoreDirectory, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(atPath: restoreDirectory)
            try? FileManager.default.removeItem(atPath: restoreDirectory + "-scratch")
        }
        let restoredURL = try await TestDatabase.make(backend, directory: restoreDirectory)
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let photo = try await MediaFixtures.shared.photo()
            let bobs = try await app.postLive(bob, file: photo, fields: ["audience": "public"])[0]
            _ = try await app.request(.post, "/api/v1/stories/\(bobs)/comments", token: alice, json: ["text": "nice"])
            let backup = app.dataDirectory + "-scratch/backup.tar"
            try await Backups.backup(services: app.services, output: backup)

            // After the backup: bob deletes his account.
            #expect(try await app.request(.delete, "/api/v1/me", token: bob, json: ["password": "correct horse"]).status == .accepted)
            try await app.processJobs()
            let bobID = try await app.services.keyring.erasures().first { $0.kind == .account }?.id
            #expect(bobID != nil)
            #expect(try await app.services.keyring.erasures().contains { $0.kind == .segment && $0.id == bobs })

            var configuration = AppConfiguration()
            configuration.dataDirectory = restoreDirectory
            configuration.databaseURL = restoredURL
            configuration.keyringDirectory = app.services.configuration.resolvedKeyringDirectory
            configuration.scratchDirectory = restoreDirectory + "-scratch"
            configuration.publicURL = "http://stories.test"
            configuration.bcryptCost = 4
            configuration.runBackgroundServices = false
            let report = try await Backups.restore(backup: backup, configuration: configuration)
            #expect(report.accountsDeletedAgain == ["bob"] && report.purgedAgain == [bobs])

            // The restored server, with the old sessions: bob's is dead, alice's works, bob is nowhere.
            let restored = try await buildApplication(configuration: configuration, clock: app.clock, logger: TestDatabase.quietLogger)
            try await restored.application.test(.router) { client in
                let me = try await client.execute(uri: "/api/v1/me", method: .get, headers: [.authorization: "Bearer \(bob)"])
                #expect(me.status == .unauthorized)
                #expect(try await client.execute(uri: "/api/v1/me", method: .get, headers: [.authorization: "Bearer \(alice)"]).status == .ok)
                #expect(try await client.execute(uri: "/api/v1/users/bob", method: .get).status == .notFound)
                #expect(try await client.execute(uri: "/api/v1/stories/\(bobs)", method: .get).status == .notFound)
                #expect(try await restored.services.auditor.findings().isEmpty)
            }
            if let keys = restored.services.keyring as? PostgresKeyring { await keys.shutdown() }
        }
    }

    /// A database put back by hand (not through restore-backup) is caught by `serve` itself: the ledger is
    /// replayed at start, before the first request.
    @Test func aDatabasePutBackByHandIsErasedAgainAtStart() async throws {
        let copyDirectory = NSTemporaryDirectory() + "ephemera-byhand-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: copyDirectory, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(atPath: copyDirectory)
            try? FileManager.default.removeItem(atPath: copyDirectory + "-scratch")
        }
        try await TestApp.run(.sqlite) { app in
            let bob = try await app.signUp("bob")
            let copy = copyDirectory + "/ephemera.sqlite"
            try await app.services.database.withConnection { sql in try await sql.raw("VACUUM INTO \(bind: copy)").run() }
            #expect(try await app.request(.delete, "/api/v1/me", token: bob, json: ["password": "correct horse"]).status == .accepted)
            try await app.processJobs()

            var configuration = app.services.configuration
            configuration.dataDirectory = copyDirectory
            configuration.databaseURL = copy
            configuration.scratchDirectory = copyDirectory + "-scratch"
            configuration.keyringDirectory = app.services.configuration.resolvedKeyringDirectory
            let restarted = try await buildApplication(configuration: configuration, clock: app.clock, logger: TestDatabase.quietLogger)
            try await restarted.application.test(.router) { client in
                let me = try await client.execute(uri: "/api/v1/me", method: .get, headers: [.authorization: "Bearer \(bob)"])
                #expect(me.status == .unauthorized)
                let profile = try await client.execute(uri: "/api/v1/users/bob", method: .get)
                #expect(profile.status == .notFound)
            }
        }
    }
}
