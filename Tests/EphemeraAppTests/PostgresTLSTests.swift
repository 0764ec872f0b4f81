import EphemeraStore
import EphemeraTestSupport
import Foundation
import Logging
import Testing

/// TLS to PostgreSQL: `sslmode=disable|require|verify-full` and `sslrootcert` in the URL, against the test
/// cluster, which `script/postgres` starts with `ssl=on` and a certificate it makes at that moment (signed by a
/// root of its own; a second root signed nothing of ours).
@Suite struct PostgresTLSTests {
    static var cluster: (admin: String, root: String, wrongRoot: String)? {
        let env = ProcessInfo.processInfo.environment
        guard let admin = env["EPHEMERA_TEST_POSTGRES_URL"] else {
            if env["EPHEMERA_REQUIRE_POSTGRES"] == "1" { fatalError("EPHEMERA_REQUIRE_POSTGRES=1 without a cluster") }
            return nil
        }
        guard let root = env["EPHEMERA_TEST_POSTGRES_ROOT_CERT"], let wrong = env["EPHEMERA_TEST_POSTGRES_WRONG_ROOT_CERT"] else {
            return nil
        }
        return (admin, root, wrong)
    }

    /// `url` with its host replaced and these parameters.
    static func variant(_ url: String, host: String, _ query: String) -> String {
        var components = URLComponents(string: url)!
        components.host = host
        return components.string! + "?" + query
    }

    /// Whether the connection the URL makes is encrypted, as the server sees it.
    static func encrypted(_ url: String) async throws -> Bool {
        let database = try Database.open(url: url, logger: Logger(label: "tls-test"))
        do {
            try await database.checkConnection()
            let ssl = try await database.withConnection { sql in
                try await sql.raw("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first()?.decode(column: "ssl", as: Bool.self)
            }
            await database.shutdown()
            return ssl == true
        } catch {
            await database.shutdown()
            throw error
        }
    }

    @Test func sslSettingsAreReadFromTheURLAndBadOnesNamed() throws {
        let base = "postgres://u:secret@db.example:5433/ephemera"
        #expect(try PostgresURL(base).sslMode == .disable)
        #expect(try PostgresURL(base + "?sslmode=require").sslMode == .require)
        #expect(try PostgresURL(base + "?sslmode=verify-full").sslMode == .verifyFull)
        for (url, words) in [
            (base + "?sslmode=sometimes", "is not one of disable, require, verify-full"),
            (base + "?sslmode=verify-full&sslrootcert=/nonexistent/root.crt", "sslrootcert=/nonexistent/root.crt: no readable file there"),
            (base + "?connect_timeout=3", "connect_timeout= in"),
            ("mysql://u@h/db", "is not a postgres:// URL"),
        ] {
            #expect(throws: PostgresURL.Problem.self) { try PostgresURL(url) }
            do { _ = try PostgresURL(url) } catch { #expect("\(error)".contains(words), "\(error)") }
            #expect(!error(of: url).contains("secret"), "the password never appears")
        }
        let notPEM = NSTemporaryDirectory() + "not-a-root-\(UUID().uuidString).crt"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: notPEM))
        defer { try? FileManager.default.removeItem(atPath: notPEM) }
        #expect(error(of: base + "?sslmode=verify-full&sslrootcert=" + notPEM).contains("holds no PEM certificate"))
    }

    /// What `PostgresURL` says of `url` ("accepted" when it takes it).
    func error(of url: String) -> String {
        do { _ = try PostgresURL(url); return "accepted" } catch { return "\(error)" }
    }

    @Test func verifyFullConnectsWithTheRightRootAndFailsClearlyWithAWrongOne() async throws {
        guard let cluster = Self.cluster else { return }
        // verify-full: signed by the root and naming the host (localhost; the certificate names 127.0.0.1 too).
        for host in ["localhost", "127.0.0.1"] {
            #expect(try await Self.encrypted(Self.variant(cluster.admin, host: host, "sslmode=verify-full&sslrootcert=\(cluster.root)")),
                    "\(host)")
        }
        // require: encrypted, nothing checked; disable: in the clear (the cluster allows both, as most do).
        #expect(try await Self.encrypted(Self.variant(cluster.admin, host: "127.0.0.1", "sslmode=require")))
        #expect(try await !Self.encrypted(Self.variant(cluster.admin, host: "127.0.0.1", "sslmode=disable")))
        #expect(try await !Self.encrypted(cluster.admin))

        // A root that did not sign the server's certificate: refused, and the message says what to check.
        let wrong = Self.variant(cluster.admin, host: "localhost", "sslmode=verify-full&sslrootcert=\(cluster.wrongRoot)")
        do {
            _ = try await Self.encrypted(wrong)
            Issue.record("a certificate signed by another root was accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains("Cannot connect to PostgreSQL at localhost:") && text.contains("sslmode=verify-full"), "\(text)")
            #expect(text.contains("TLS handshake failed") && text.contains("sslrootcert is the root that signed it"), "\(text)")
        }
        // The system's roots know nothing of a root made at test time.
        do {
            _ = try await Self.encrypted(Self.variant(cluster.admin, host: "localhost", "sslmode=verify-full"))
            Issue.record("verify-full without our root was accepted")
        } catch {
            #expect("\(error)".contains("TLS handshake failed"), "\(error)")
        }
    }

    /// The server itself: migrates and serves over verify-full; with the wrong root it does not start, and says why.
    @Test func theServerRunsOverVerifiedTLSAndRefusesToStartWithAWrongRoot() async throws {
        guard let cluster = Self.cluster else { return }
        let directory = NSTemporaryDirectory() + "ephemera-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { removeServerFolders(directory) }
        let database = try await TestDatabase.make(.postgres, directory: directory)
        let verified = Self.variant(database, host: "localhost", "sslmode=verify-full&sslrootcert=\(cluster.root)")
        let server = ServerProcess(dataDirectory: directory, databaseURL: verified,
                                   extraArguments: ["--scratch-dir", directory + "-scratch"])
        try await server.start()
        defer { server.kill9() }
        #expect(try await server.request("POST", "/api/v1/accounts", json: ["handle": "alice", "password": "correct horse"]).status == 201)
        #expect(try await server.request("GET", "/readyz").status == 200)

        let refused = try ServerProcess.runCommand([
            "migrate", "--data-dir", directory, "--scratch-dir", directory + "-scratch", "--database-url",
            Self.variant(database, host: "localhost", "sslmode=verify-full&sslrootcert=\(cluster.wrongRoot)"),
        ])
        #expect(refused.status != 0)
        #expect(refused.output.contains("TLS handshake failed") && refused.output.contains(cluster.wrongRoot), "\(refused.output)")
        let badMode = try ServerProcess.runCommand(["serve", "--data-dir", directory, "--database-url", database + "?sslmode=maybe"])
        #expect(badMode.status != 0 && badMode.output.contains("--database-url: sslmode=maybe"), "\(badMode.output)")
    }
}
