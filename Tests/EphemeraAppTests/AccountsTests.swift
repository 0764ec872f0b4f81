import EphemeraTestSupport
import Foundation
import HTTPTypes
import Testing

@Suite struct AccountsTests {
    @Test(arguments: Backend.all)
    func signUpSignInAndSignOut(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let created = try await app.request(.post, "/api/v1/accounts",
                json: ["handle": "alice", "password": "correct horse", "displayName": "Alice A."])
            #expect(created.status == .created)
            let account = try created.decode(API.Session.self).account
            #expect(account.handle == "alice" && account.displayName == "Alice A." && account.role == "member")
            #expect(account.settings?.archiveExpired == true)

            let taken = try await app.request(.post, "/api/v1/accounts", json: ["handle": "alice", "password": "another one"])
            #expect(taken.status == .conflict && taken.errorCode == "handle_taken")

            let wrong = try await app.request(.post, "/api/v1/sessions", json: ["handle": "alice", "password": "wrong pass"])
            #expect(wrong.status == .unauthorized && wrong.errorCode == "invalid_credentials")
            let unknown = try await app.request(.post, "/api/v1/sessions", json: ["handle": "nobody", "password": "wrong pass"])
            #expect(unknown.status == .unauthorized && unknown.errorCode == "invalid_credentials")

            let session = try await app.request(.post, "/api/v1/sessions", json: ["handle": "alice", "password": "correct horse"])
            #expect(session.status == .created)
            let token = try session.decode(API.Session.self).token
            let me = try await app.request(.get, "/api/v1/me", token: token)
            let body = try me.decode(API.Account.self)
            #expect(me.status == .ok && body.handle == "alice" && body.id == account.id)
            #expect(body.settings != nil)

            #expect(try await app.request(.delete, "/api/v1/sessions/current", token: token).status == .noContent)
            let after = try await app.request(.get, "/api/v1/me", token: token)
            #expect(after.status == .unauthorized && after.errorCode == "invalid_token")
            #expect(try await app.request(.get, "/api/v1/me").errorCode == "unauthenticated")
        }
    }

    /// An unknown handle is checked against a dummy hash of the configured cost: with a cheaper one, sign-in
    /// answered in 4 ms for handles that do not exist and in 343 ms for those that do.
    @Test func unknownHandlesCostASignInAsMuchAsRealOnes() async throws {
        try await TestApp.run(.sqlite, configure: { $0.bcryptCost = 6 }) { app in
            _ = try await app.signUp("alice")
            let stored = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT password_hash FROM accounts").first()!.decode(column: "password_hash", as: String.self)
            }
            // bcrypt's cost is the two digits after the version: `$2b$06$…`.
            func cost(_ hash: String) -> String { String(hash.split(separator: "$")[1]) }
            #expect(cost(stored) == "06")
            #expect(cost(app.services.passwords.dummyHash) == cost(stored))
            #expect(try await app.services.passwords.verifySignIn("correct horse", storedHash: nil) == false)
            let unknown = try await app.request(.post, "/api/v1/sessions", json: ["handle": "nobody", "password": "correct horse"])
            #expect(unknown.status == .unauthorized && unknown.errorCode == "invalid_credentials")
        }
    }

    /// Sign-ups racing for one handle: the database's unique index decides, recognised by its error code, and
    /// every loser gets 409 `handle_taken` (not a 500).
    @Test(arguments: Backend.all)
    func signUpsRacingForAHandleGetOneAccount(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let response = try await app.request(.post, "/api/v1/accounts", json: ["handle": "racer", "password": "correct horse"])
                        return (Int(response.status.code), response.errorCode)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0.0 == 201 }.count == 1)
            #expect(statuses.filter { $0.0 == 409 && $0.1 == "handle_taken" }.count == 7, "\(statuses)")
        }
    }

    @Test(arguments: Backend.all)
    func tokensAreStoredOnlyAsHashes(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let token = try await app.signUp("alice")
            let stored = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT token_hash FROM sessions").all().map { try $0.decode(column: "token_hash", as: String.self) }
            }
            #expect(stored.count == 1 && !stored.contains(token) && stored[0].count == 64)
            let hash = try await app.services.database.withConnection { sql in
                try await sql.raw("SELECT password_hash FROM accounts").first()!.decode(column: "password_hash", as: String.self)
            }
            #expect(hash.hasPrefix("$2") && !hash.contains("correct horse"))
        }
    }

    @Test(arguments: Backend.all)
    func badSignUpsAreRefusedWithUsefulMessages(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let cases: [([String: any Sendable], String)] = [
                (["handle": "Al", "password": "long enough"], "invalid_handle"),
                (["handle": "has space", "password": "long enough"], "invalid_handle"),
                (["handle": "bob", "password": "short"], "weak_password"),
                (["handle": "bob"], "missing_field"),
                (["handle": 42, "password": "long enough"], "invalid_field"),
            ]
            for (body, code) in cases {
                let response = try await app.request(.post, "/api/v1/accounts", json: body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.errorCode == code, "\(body)")
                #expect((response.errorMessage ?? "").count > 10)
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            let malformed = try await app.client.execute(
                uri: "/api/v1/accounts", method: .post, headers: headers, body: .init(string: "{\"handle\": \"bob\","))
            #expect(malformed.status == .badRequest && malformed.errorCode == "malformed_json")
        }
    }

    @Test(arguments: Backend.all)
    func settingsArePatchedAndValidated(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let token = try await app.signUp("alice")
            let patched = try await app.request(.patch, "/api/v1/me/settings", token: token,
                json: ["defaultAudience": "public", "allowDownloads": false, "viewHistory": true])
            #expect(patched.status == .ok)
            let settings = try patched.decode(API.Settings.self)
            #expect(settings.defaultAudience == "public" && !settings.allowDownloads && settings.allowComments && settings.viewHistory)
            let bad = try await app.request(.patch, "/api/v1/me/settings", token: token, json: ["defaultAudience": "everyone"])
            #expect(bad.status == .badRequest && bad.errorCode == "invalid_default_audience")
            #expect(bad.errorMessage?.contains("closeFriends") == true)
            let me = try await app.request(.get, "/api/v1/me", token: token).decode(API.Account.self)
            #expect(me.settings?.defaultAudience == "public")
        }
    }

    @Test(arguments: Backend.all)
    func unknownRoutesAnswerTheErrorShape(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let response = try await app.request(.get, "/api/v1/nothing-here")
            #expect(response.status == .notFound && response.errorCode == "not_found")
            #expect(try await app.request(.get, "/healthz").status == .ok)
            let ready = try await app.request(.get, "/readyz")
            let readiness = try ready.decode(API.Readiness.self)
            #expect(ready.status == .ok && readiness.status == "ready" && readiness.database == "ok" && readiness.mediaStore == "ok")
        }
    }
}
