import EphemeraCore
import EphemeraStore
import EphemeraTestSupport
import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The `ephemera` client commands, run as processes against a live server, each person with their own HOME.
@Suite struct ClientCommandTests {
    func home(_ directory: String, _ name: String) throws -> String {
        let path = directory + "-home-" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test(arguments: Backend.all)
    func loginPostTrayStoryDownloadDeleteRestoreAndLogout(backend: Backend) async throws {
        let (server, directory, _) = try await startServer(backend)
        let alice = try home(directory, "alice"), bob = try home(directory, "bob")
        defer {
            server.kill9()
            removeServerFolders(directory)
            for folder in [alice, bob] { try? FileManager.default.removeItem(atPath: folder) }
        }
        for handle in ["alice", "bob"] {
            #expect(try await server.request("POST", "/api/v1/accounts",
                json: ["handle": handle, "password": "correct horse"]).status == 201)
        }

        // Not logged in, and a server that is not there: sentences, exit 1. A usage mistake: exit 2.
        let anonymous = try ServerProcess.runClient(["tray"], home: alice)
        #expect(anonymous.status == 1 && anonymous.output.contains("Not logged in. Run: ephemera login"))
        let nowhere = try ServerProcess.runClient(
            ["login", "--server", "http://127.0.0.1:9", "--handle", "alice", "--password-stdin"], home: alice,
            input: "correct horse\n")
        #expect(nowhere.status == 1 && nowhere.output.contains("Cannot reach the Ephemera server at http://127.0.0.1:9"))
        #expect(try ServerProcess.runClient(["delete"], home: alice).status == 2)
        let wrong = try ServerProcess.runClient(
            ["login", "--server", server.baseURL, "--handle", "alice", "--password-stdin"], home: alice, input: "nope nope\n")
        #expect(wrong.status == 1 && wrong.output.contains("That handle and password do not match"))

        for (handle, folder) in [("alice", alice), ("bob", bob)] {
            let login = try ServerProcess.runClient(
                ["login", "--server", server.baseURL, "--handle", handle, "--password-stdin"], home: folder,
                input: "correct horse\n")
            #expect(login.status == 0, "\(login.output)")
            let config = folder + "/.config/ephemera/config.json"
            let mode = try FileManager.default.attributesOfItem(atPath: config)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            #expect(try String(contentsOfFile: config, encoding: .utf8).contains("\"token\""))
        }

        let photo = try await MediaFixtures.shared.photo()
        let posted = try ServerProcess.runClient(
            ["post", photo, "--caption", "From the terminal", "--filter", "mono", "--audience", "public"], home: alice)
        #expect(posted.status == 0, "\(posted.output)")
        #expect(posted.output.contains("100%"))  // plain progress lines when not on a terminal
        let line = try #require(posted.output.split(separator: "\n").first { $0.contains("live") })
        let id = String(line.split(separator: " ")[0])
        #expect(line.contains("“From the terminal”") && line.contains("/@alice/story?segment=\(id)"))

        #expect(try await server.request("PUT", "/api/v1/me/following/alice", token: try savedToken(bob)).status == 204)
        let tray = try ServerProcess.runClient(["tray"], home: bob)
        #expect(tray.status == 0 && tray.output.contains("● @alice  1 segment  unseen"))
        let story = try ServerProcess.runClient(["story", "@alice"], home: bob)
        #expect(story.status == 0 && story.output.contains(id) && story.output.contains("photo"))

        // (Downloads: downloadsAreDecryptedHereAndResume.)
        let downloaded = try ServerProcess.runClient(["download", id, "-o", "whole.jpg"], home: bob, in: bob)
        #expect(downloaded.status == 0 && downloaded.output.contains("Saved whole.jpg"), "\(downloaded.output)")

        // Edited from the terminal: alt text, and comments off for this one; the server refuses bad values.
        let edited = try ServerProcess.runClient(["edit", id, "--alt-text", "A grey test card", "--comments", "off"], home: alice)
        #expect(edited.status == 0 && edited.output.contains(id), "\(edited.output)")
        let read = try await server.request("GET", "/api/v1/stories/\(id)", token: try savedToken(bob)).decode(API.Segment.self)
        #expect(read.altText == "A grey test card" && !read.allowComments)
        let badEdit = try ServerProcess.runClient(["edit", id, "--audience", "everyone"], home: alice)
        #expect(badEdit.status == 1 && badEdit.output.contains("everyone"), "\(badEdit.output)")
        // Scheduled from the terminal, with its own lifetime: shown as scheduled, with when it goes live.
        let later = try ServerProcess.runClient(
            ["post", photo, "--lifetime", "6h", "--publish-at", Instant(Date().addingTimeInterval(3600)).rfc3339], home: alice)
        #expect(later.status == 0 && later.output.contains("scheduled (goes live "), "\(later.output)")

        // Highlights from the terminal: made, added to, renamed, listed by someone else, deleted.
        let postedAgain = try ServerProcess.runClient(["post", photo], home: alice)
        let second = try #require(postedAgain.output.split(separator: "\n").first { $0.contains("live") }
            .map { String($0.split(separator: " ")[0]) })
        let made = try ServerProcess.runClient(["highlight", "create", "Test cards", id], home: alice)
        #expect(made.status == 0 && made.output.contains("“Test cards”  1 story"), "\(made.output)")
        let highlight = String(made.output.split(separator: " ")[0])
        let added = try ServerProcess.runClient(["highlight", "add", highlight, second, id], home: alice)
        #expect(added.status == 0 && added.output.contains("2 stories"), "\(added.output)")
        let renamed = try ServerProcess.runClient(["highlight", "rename", highlight, "Cards"], home: alice)
        #expect(renamed.status == 0 && renamed.output.contains("“Cards”"), "\(renamed.output)")
        let seen = try ServerProcess.runClient(["highlight", "list", "@alice"], home: bob)
        #expect(seen.status == 0 && seen.output.contains("/@alice/highlights/\(highlight)"), "\(seen.output)")
        let untitled = try ServerProcess.runClient(["highlight", "rename", highlight, " "], home: alice)
        #expect(untitled.status == 1 && untitled.output.contains("needs a title"), "\(untitled.output)")
        let notHers = try ServerProcess.runClient(["highlight", "delete", highlight], home: bob)
        #expect(notHers.status == 1 && notHers.output.contains("no highlight"), "\(notHers.output)")
        let dropped = try ServerProcess.runClient(["highlight", "delete", highlight], home: alice)
        #expect(dropped.status == 0 && dropped.output.contains("Deleted highlight"))
        #expect(try ServerProcess.runClient(["highlight"], home: alice).output.contains("no highlights"))

        // Insights from the terminal: the author's, counts only; anyone else is refused.
        #expect(try await server.request("POST", "/api/v1/stories/\(id)/views", token: try savedToken(bob)).status == 204)
        let insights = try ServerProcess.runClient(["insights", id], home: alice)
        #expect(insights.status == 0 && insights.output.contains("Impressions     1")
                && insights.output.contains("Reach           1") && insights.output.contains("Views by hour"), "\(insights.output)")
        #expect(try ServerProcess.runClient(["insights", id], home: bob).status == 1)

        // Someone else's segment cannot be deleted: the server's message, exit 1.
        let notMine = try ServerProcess.runClient(["delete", id], home: bob)
        #expect(notMine.status == 1 && notMine.output.contains("error: "))
        let deleted = try ServerProcess.runClient(["delete", id], home: alice)
        #expect(deleted.status == 0 && deleted.output.contains("ephemera restore \(id)"))
        let listed = try ServerProcess.runClient(["recently-deleted"], home: alice)
        #expect(listed.output.contains(id) && listed.output.contains("From the terminal"))
        let restored = try ServerProcess.runClient(["restore", id], home: alice)
        #expect(restored.status == 0 && restored.output.contains("back in your story"))
        let purged = try ServerProcess.runClient(["delete", id, "--permanent"], home: alice)
        #expect(purged.status == 0 && purged.output.contains("Purging"))
        let gone = try ServerProcess.runClient(["restore", id], home: alice)
        #expect(gone.status == 1 && gone.output.contains("error: "))

        let out = try ServerProcess.runClient(["logout"], home: alice)
        #expect(out.status == 0)
        #expect(try ServerProcess.runClient(["tray"], home: alice).output.contains("Not logged in"))
    }

    /// `ephemera download` fetches the ciphertext (from the server's own route, or presigned from the object store)
    /// and decrypts it here; an interrupted download resumes with a Range request and is counted once; a partial
    /// file that is not this blob starts over; a damaged one is never decrypted into a file.
    @Test(arguments: Backend.withStores)
    func downloadsAreDecryptedHereAndResume(backend: Backend) async throws {
        let bucket = try await TestBucket.make(for: backend)
        let (server, directory, _) = try await startServer(backend, bucket: bucket)
        let alice = try home(directory, "alice"), bob = try home(directory, "bob")
        defer {
            server.kill9()
            removeServerFolders(directory)
            for folder in [alice, bob] { try? FileManager.default.removeItem(atPath: folder) }
        }
        for (handle, folder) in [("alice", alice), ("bob", bob)] {
            #expect(try await server.request("POST", "/api/v1/accounts",
                json: ["handle": handle, "password": "correct horse"]).status == 201)
            let login = try ServerProcess.runClient(
                ["login", "--server", server.baseURL, "--handle", handle, "--password-stdin"], home: folder,
                input: "correct horse\n")
            #expect(login.status == 0, "\(login.output)")
        }
        let posted = try ServerProcess.runClient(["post", try await MediaFixtures.shared.photo(), "--audience", "public"], home: alice)
        let line = try #require(posted.output.split(separator: "\n").first { $0.contains("live") }, "\(posted.output)")
        let id = String(line.split(separator: " ")[0])
        let bobToken = try savedToken(bob)

        // Bob's copy is the watermarked one, decrypted here into the name the server suggests.
        let whole = try ServerProcess.runClient(["download", id], home: bob, in: bob)
        #expect(whole.status == 0 && whole.output.contains("Saved ephemera-alice-\(id).jpg"), "\(whole.output)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: bob + "/ephemera-alice-\(id).jpg"))
        #expect(bytes.starts(with: [0xFF, 0xD8]))
        #expect(!FileManager.default.fileExists(atPath: bob + "/.ephemera-\(id).part"))

        // What an interrupted download left: the first kilobyte of the ciphertext. It resumes and is not counted again.
        let given = try await server.request("GET", "/api/v1/stories/\(id)/download?encrypted=true&resume=true", token: bobToken)
            .decode(API.EncryptedDownload.self)
        #expect(given.filename == "ephemera-alice-\(id).jpg" && given.contentType == "image/jpeg")
        if backend.media == .s3 { #expect(given.url.contains("X-Amz-Signature=")) }
        let (ciphertext, response) = try await URLSession.shared.data(from: try #require(URL(string: given.url)))
        #expect((response as? HTTPURLResponse)?.statusCode == 200 && ciphertext.starts(with: Array("EPH1".utf8)))
        try ciphertext.prefix(1000).write(to: URL(fileURLWithPath: bob + "/again.jpg.part"))
        let resumed = try ServerProcess.runClient(["download", server.baseURL + "/@alice/story?segment=\(id)", "-o", "again.jpg"],
                                                  home: bob, in: bob)
        #expect(resumed.status == 0 && resumed.output.contains("Resuming at 1 KB"), "\(resumed.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: bob + "/again.jpg")) == bytes)
        // A partial that already holds everything only needs decrypting.
        try ciphertext.write(to: URL(fileURLWithPath: bob + "/full.jpg.part"))
        let complete = try ServerProcess.runClient(["download", id, "-o", "full.jpg"], home: bob, in: bob)
        #expect(complete.status == 0, "\(complete.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: bob + "/full.jpg")) == bytes)
        let counts = try await server.request("GET", "/api/v1/stories/\(id)", token: bobToken).decode(API.Segment.self).counts
        #expect(counts.downloads == 1, "a resumed download finishes the same download")

        // Plaintext an older client left: not this blob, so it starts over (and is a new download).
        try bytes.prefix(1000).write(to: URL(fileURLWithPath: bob + "/old.jpg.part"))
        let old = try ServerProcess.runClient(["download", id, "-o", "old.jpg"], home: bob, in: bob)
        #expect(old.status == 0 && old.output.contains("starting over"), "\(old.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: bob + "/old.jpg")) == bytes)

        // A damaged partial: nothing is decrypted into a file, the partial goes, and the message says what to do.
        var damaged = ciphertext.prefix(2000)
        damaged[damaged.startIndex + 500] ^= 0x01
        try Data(damaged).write(to: URL(fileURLWithPath: bob + "/bad.jpg.part"))
        let bad = try ServerProcess.runClient(["download", id, "-o", "bad.jpg"], home: bob, in: bob)
        #expect(bad.status == 1 && bad.output.contains("did not decrypt") && bad.output.contains("Run the command again"),
                "\(bad.output)")
        for leftover in ["bad.jpg", "bad.jpg.part", "bad.jpg.decrypting"] {
            #expect(!FileManager.default.fileExists(atPath: bob + "/" + leftover), "\(leftover)")
        }
        #expect(try ServerProcess.runClient(["download", id, "-o", "bad.jpg"], home: bob, in: bob).status == 0)

        // Alice's own copy is the unmarked original, and differs from Bob's watermarked one.
        let original = try ServerProcess.runClient(["download", id, "-o", "mine.jpg"], home: alice, in: alice)
        #expect(original.status == 0, "\(original.output)")
        let mine = try Data(contentsOf: URL(fileURLWithPath: alice + "/mine.jpg"))
        #expect(mine.starts(with: [0xFF, 0xD8]) && mine != bytes)
        try? await bucket?.remove()
    }

    @Test(arguments: Backend.all)
    func aPostInterruptedByAServerRestartResumes(backend: Backend) async throws {
        let (server, directory, _) = try await startServer(backend)
        let alice = try home(directory, "alice")
        defer {
            server.kill9()
            removeServerFolders(directory)
            try? FileManager.default.removeItem(atPath: alice)
        }
        #expect(try await server.request("POST", "/api/v1/accounts",
            json: ["handle": "alice", "password": "correct horse"]).status == 201)
        #expect(try ServerProcess.runClient(["login", "--server", server.baseURL, "--handle", "alice", "--password-stdin"],
                                            home: alice, input: "correct horse\n").status == 0)
        // Compliant H.264 is remuxed, not re-encoded: a file of a few MB that costs the busy test machine little.
        let clip = try await MediaFixtures.shared.video(seconds: 6, width: 1080, height: 1920)
        let arguments = ["post", clip, "--chunk-bytes", "16384", "--caption", "Long way"]

        // Kill the server once the client reports a fifth of the file sent, then start it again where it was.
        let running = try ServerProcess.launchClient(arguments, home: alice)
        let pending = alice + "/.config/ephemera/uploads.json"
        var printed = ""
        while !printed.contains("20%") {
            let data = running.output.fileHandleForReading.availableData
            if data.isEmpty { break }  // the client ended before that: the expectations below say so
            printed += String(decoding: data, as: UTF8.self)
        }
        server.kill9()
        let rest = running.output.fileHandleForReading.readDataToEndOfFile()
        running.process.waitUntilExit()
        let message = printed + String(decoding: rest, as: UTF8.self)
        #expect(running.process.terminationStatus == 1, "\(message)")
        #expect(message.contains("run the same command again to resume"), "\(message)")
        #expect(!message.contains("100%"))

        try await server.start(keepPort: true)
        let again = try ServerProcess.runClient(arguments, home: alice)
        #expect(again.status == 0, "\(again.output)")
        // It goes on from what the server kept, not from the start.
        let resumedAt = again.output.firstMatch(of: /resuming at ([0-9.]+) (KB|MB)/)
        #expect(resumedAt != nil, "\(again.output)")
        #expect(again.output.contains("live") && again.output.contains("“Long way”"))
        let leftover = (try? String(contentsOfFile: pending, encoding: .utf8)) ?? ""
        #expect(!leftover.contains("http"), "a finished upload is forgotten")
        let audit = try ServerProcess.runCommand(["audit", "--data-dir", directory]
            + (server.databaseURL.map { ["--database-url", $0] } ?? []))
        #expect(audit.status == 0, "\(audit.output)")
    }

    @Test func onATerminalLoginHidesThePasswordAndPostDrawsAProgressBar() async throws {
        let (server, directory, _) = try await startServer(.sqlite)
        let alice = try home(directory, "alice")
        defer {
            server.kill9()
            removeServerFolders(directory)
            try? FileManager.default.removeItem(atPath: alice)
        }
        #expect(try await server.request("POST", "/api/v1/accounts",
            json: ["handle": "alice", "password": "secret horse"]).status == 201)
        /// Runs the client under `script`, which gives it a pseudo-terminal; `typed` arrives after a second,
        /// as a person would type it after the prompt.
        func onTerminal(_ arguments: [String], typed: String? = nil) throws -> (Int32, String) {
            let command = ([ServerProcess.binary] + arguments).map { "'\($0)'" }.joined(separator: " ")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
            process.arguments = ["-qec", command, "/dev/null"]
            var environment = ProcessInfo.processInfo.environment
            environment["HOME"] = alice
            environment["TERM"] = "xterm"
            process.environment = environment
            let output = Pipe(), input = Pipe()
            process.standardOutput = output
            process.standardError = output
            process.standardInput = input
            try process.run()
            if let typed {
                Thread.sleep(forTimeInterval: 1)
                input.fileHandleForWriting.write(Data(typed.utf8))
            }
            try? input.fileHandleForWriting.close()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        let (loginStatus, login) = try onTerminal(["login", "--server", server.baseURL, "--handle", "alice"],
                                                  typed: "secret horse\n")
        #expect(loginStatus == 0 && login.contains("Password for @alice:") && login.contains("Logged in"), "\(login)")
        #expect(!login.contains("secret horse"), "the password must not be echoed")

        let clip = try await MediaFixtures.shared.video(seconds: 2)
        let (postStatus, post) = try onTerminal(["post", clip, "--chunk-bytes", "16384"])
        #expect(postStatus == 0, "\(post)")
        #expect(post.contains("\r") && post.contains("█") && post.contains("100%"), "\(post)")
        // How many lines are drawn depends on how fast this machine moves 455 KB; what each says does not:
        // a line while moving shows the speed only with the time left, and the last shows the average and the time.
        let drawn = post.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).filter { $0.contains("%") }
        for line in drawn where !line.contains("100%") {
            #expect(line.contains("/s") == line.contains("ETA"), "\(line)")
        }
        #expect(drawn.last.map { $0.contains("100%") && $0.contains("/s  in ") && !$0.contains("ETA") } == true,
                "\(post)")
        #expect(post.contains("live"))
    }

    /// Every client command takes `--server` (or `EPHEMERA_SERVER`); a session is kept per server, and the last
    /// login is the default.
    @Test(arguments: Backend.all)
    func everyClientCommandTakesTheServerByFlagOrEnvironment(backend: Backend) async throws {
        let (first, directory, _) = try await startServer(backend)
        let (second, secondDirectory, _) = try await startServer(backend)
        let alice = try home(directory, "alice")
        defer {
            first.kill9()
            second.kill9()
            removeServerFolders(directory)
            removeServerFolders(secondDirectory)
            try? FileManager.default.removeItem(atPath: alice)
        }
        for server in [first, second] {
            #expect(try await server.request("POST", "/api/v1/accounts", json: ["handle": "alice", "password": "correct horse"]).status == 201)
        }
        let photo = try await MediaFixtures.shared.photo()
        for server in [first, second] {
            let login = try ServerProcess.runClient(["login", "--handle", "alice", "--password-stdin"], home: alice,
                                                    input: "correct horse\n", environment: ["EPHEMERA_SERVER": server.baseURL])
            #expect(login.status == 0 && login.output.contains("Logged in to \(server.baseURL)"), "\(login.output)")
        }
        // The last login is the default; the first server's session is still there for --server.
        let onFirst = try ServerProcess.runClient(["post", photo, "--caption", "first", "--server", first.baseURL + "/"], home: alice)
        #expect(onFirst.status == 0 && onFirst.output.contains(first.baseURL), "\(onFirst.output)")
        let onDefault = try ServerProcess.runClient(["post", photo, "--caption", "second"], home: alice)
        #expect(onDefault.status == 0 && onDefault.output.contains(second.baseURL), "\(onDefault.output)")
        for (server, caption) in [(first, "first"), (second, "second")] {
            let byFlag = try ServerProcess.runClient(["story", "alice", "--server", server.baseURL], home: alice)
            let byEnvironment = try ServerProcess.runClient(["story", "@alice"], home: alice, environment: ["EPHEMERA_SERVER": server.baseURL])
            for result in [byFlag, byEnvironment] {
                #expect(result.status == 0 && result.output.contains(caption) && result.output.split(separator: "\n").count == 1,
                        "\(result.output)")
            }
            for command in [["tray"], ["recently-deleted"]] {
                #expect(try ServerProcess.runClient(command + ["--server", server.baseURL], home: alice).status == 0, "\(command)")
            }
        }
        // A flag beats the environment; a server with no session says so and how to log in.
        let flagWins = try ServerProcess.runClient(["story", "alice", "--server", first.baseURL], home: alice,
                                                   environment: ["EPHEMERA_SERVER": second.baseURL])
        #expect(flagWins.output.contains("first") && !flagWins.output.contains("second"))
        let elsewhere = try ServerProcess.runClient(["tray", "--server", "http://127.0.0.1:9"], home: alice)
        #expect(elsewhere.status == 1 && elsewhere.output.contains("Not logged in to http://127.0.0.1:9. Run: ephemera login --server http://127.0.0.1:9"),
                "\(elsewhere.output)")
        // Logging out of one server leaves the other's session.
        let out = try ServerProcess.runClient(["logout", "--server", first.baseURL], home: alice)
        #expect(out.status == 0 && out.output.contains("Logged out of \(first.baseURL)"), "\(out.output)")
        #expect(try ServerProcess.runClient(["tray", "--server", first.baseURL], home: alice).status == 1)
        #expect(try ServerProcess.runClient(["tray"], home: alice).status == 0)
    }

    /// The token saved in a client's config.
    func savedToken(_ home: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: home + "/.config/ephemera/config.json"))
        return try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["token"] as? String)
    }
}

/// Ids are typed on command lines: none may begin with a dash, which the argument parser reads as an option.
@Suite struct TypableIDTests {
    @Test func noIDBeginsWithADash() {
        let ids = (0..<20_000).map { _ in IDs.make() }
        #expect(ids.allSatisfy { !$0.hasPrefix("-") && $0.count == 22 })
        // Every other character still occurs first (the dash is the only one refused).
        #expect(Set(ids.compactMap(\.first)).count == 63)
    }
}
