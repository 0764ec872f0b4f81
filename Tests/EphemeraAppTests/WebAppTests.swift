import EphemeraTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// A browser's cookie jar over the test client: enough to drive the web app's forms and scripts' requests.
struct CookieJar {
    var cookies: [String: String] = [:]
    var rawSetCookies: [String] = []

    mutating func absorb(_ response: TestResponse) {
        for header in response.headers[values: .setCookie] {
            rawSetCookies.append(header)
            let pair = header.split(separator: ";", maxSplits: 1)[0]
                .split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { continue }
            let name = String(pair[0]), value = String(pair[1])
            if value.isEmpty || header.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
    }

    var header: HTTPFields {
        var fields = HTTPFields()
        if !cookies.isEmpty {
            fields[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ")
        }
        fields[.accept] = "text/html"
        return fields
    }

    var csrf: String { cookies["ephemera_csrf"] ?? "" }
}

extension TestApp {
    /// GET a page as a browser with `jar`.
    func page(_ path: String, jar: inout CookieJar) async throws -> TestResponse {
        let response = try await request(.get, path, headers: jar.header)
        jar.absorb(response)
        return response
    }

    /// POST a form as a browser with `jar`.
    func submit(_ path: String, _ fields: [String: String], jar: inout CookieJar) async throws -> TestResponse {
        var headers = jar.header
        headers[.contentType] = "application/x-www-form-urlencoded"
        let allowed = CharacterSet.alphanumerics
        let body = fields.map { key, value -> String in
            let name: String = key.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
            let encoded: String = value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
            return name + "=" + encoded
        }.joined(separator: "&")
        let response = try await request(.post, path, body: ByteBuffer(string: body), headers: headers)
        jar.absorb(response)
        return response
    }

    /// Signs up through the web form and returns the browser's cookie jar.
    func webSignUp(_ handle: String) async throws -> CookieJar {
        var jar = CookieJar()
        _ = try await page("/signup", jar: &jar)
        let response = try await submit("/signup", ["_csrf": jar.csrf, "handle": handle, "password": "correct horse",
                                                    "next": "/"], jar: &jar)
        guard response.status == .seeOther, jar.cookies["ephemera_session"] != nil else {
            throw TestFailure("web sign-up failed: \(response.status) \(response.text)")
        }
        return jar
    }
}

@Suite struct WebAppTests {
    @Test(arguments: Backend.all)
    func signingUpThroughTheFormSetsAnHttpOnlyLaxSessionCookie(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            var jar = CookieJar()
            let form = try await app.page("/signup", jar: &jar)
            #expect(form.status == .ok)
            #expect(form.text.contains(#"name="handle""#) && form.text.contains(#"name="password""#))
            #expect(form.text.contains(#"name="_csrf" value="\#(jar.csrf)""#) && !jar.csrf.isEmpty)

            let created = try await app.submit("/signup", ["_csrf": jar.csrf, "handle": "alice",
                                                          "password": "correct horse", "next": "/"], jar: &jar)
            #expect(created.status == .seeOther && created.headers[.location] == "/")
            let session = try #require(jar.rawSetCookies.first { $0.hasPrefix("ephemera_session=") })
            #expect(session.contains("HttpOnly") && session.contains("SameSite=Lax") && session.contains("Path=/"))

            let home = try await app.page("/", jar: &jar)
            #expect(home.text.contains(#"data-me="alice""#))
            #expect(home.text.contains(#"data-handle="alice" data-ring="none""#))

            // The cookie is the same kind of session as a bearer token: the API answers with it too.
            var headers = jar.header
            headers[.accept] = "application/json"
            let me = try await app.request(.get, "/api/v1/me", headers: headers)
            #expect(try me.status == .ok && (me.decode(API.Account.self)).handle == "alice")

            // Signing out ends the session on the server, not only in the browser.
            let stale = jar
            let out = try await app.submit("/logout", ["_csrf": jar.csrf], jar: &jar)
            #expect(out.status == .seeOther && jar.cookies["ephemera_session"] == nil)
            var staleHeaders = stale.header
            staleHeaders[.accept] = "application/json"
            #expect(try await app.request(.get, "/api/v1/me", headers: staleHeaders).status == .unauthorized)
        }
    }

    @Test(arguments: Backend.all)
    func formsAndCookieRequestsWithoutTheCSRFTokenAreRefused(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let photo = try await MediaFixtures.shared.photo()
            let segment = try await app.postLive(alice, file: photo, fields: ["audience": "public"])[0]
            var jar = try await app.webSignUp("bob")

            // A form posted from another site has no token (and a forged one does not match the cookie).
            for token in [nil, "forged-token-of-the-right-size-000"] as [String?] {
                var fields = ["handle": "bob", "password": "correct horse"]
                fields["_csrf"] = token
                let refused = try await app.submit("/login", fields, jar: &jar)
                #expect(refused.status == .forbidden)
                #expect(refused.text.contains("Reload the page"))
            }
            // A script's request riding on the cookie needs the header.
            var headers = jar.header
            headers[.accept] = "application/json"
            let bare = try await app.request(.put, "/api/v1/stories/\(segment)/like", headers: headers)
            #expect(bare.status == .forbidden && bare.errorCode == "csrf_failed")
            headers[HTTPField.Name("X-CSRF-Token")!] = jar.csrf
            #expect(try await app.request(.put, "/api/v1/stories/\(segment)/like", headers: headers).status == .noContent)
            // Bearer clients carry no ambient credential and need no token.
            let carol = try await app.signUp("carol")
            #expect(try await app.request(.put, "/api/v1/stories/\(segment)/like", token: carol).status == .noContent)
            let story = try await app.request(.get, "/api/v1/stories/\(segment)", token: alice).decode(API.Segment.self)
            #expect(story.counts.likes == 2)
        }
    }

    @Test(arguments: Backend.all)
    func wrongPasswordsAndTakenHandlesAreShownInlineWithTheRightStatus(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            _ = try await app.signUp("alice")
            var jar = CookieJar()
            _ = try await app.page("/login", jar: &jar)
            let wrong = try await app.submit("/login", ["_csrf": jar.csrf, "handle": "alice", "password": "wrong one"],
                                             jar: &jar)
            #expect(wrong.status == .unauthorized)
            #expect(wrong.text.contains("data-error") && wrong.text.contains(#"value="alice""#))
            #expect(jar.cookies["ephemera_session"] == nil)

            let taken = try await app.submit("/signup", ["_csrf": jar.csrf, "handle": "alice", "password": "long enough"],
                                             jar: &jar)
            #expect(taken.status == .conflict && taken.text.contains("data-error"))
            let short = try await app.submit("/signup", ["_csrf": jar.csrf, "handle": "zed", "password": "short"],
                                             jar: &jar)
            #expect(short.status == .badRequest || short.status == .unprocessableContent)
            #expect(short.text.contains("8"))
        }
    }

    @Test(arguments: Backend.all)
    func openingTheActivityPageReadsNothingItsScriptMarksItRead(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            var jar = try await app.webSignUp("alice")
            let bob = try await app.signUp("bob")
            try await app.follow(bob, "alice")
            var headers = jar.header
            headers[.accept] = "application/json"
            func unread() async throws -> Int {
                try await app.request(.get, "/api/v1/me/activity", headers: headers).decode(API.Activity.self).unreadCount
            }
            #expect(try await unread() == 1)
            for _ in 0..<2 {
                let page = try await app.page("/activity", jar: &jar)
                #expect(page.status == .ok && page.text.contains("started following you"))
                #expect(page.text.contains("data-mark-read") && page.text.contains("activity-item unread"))
                #expect(page.text.contains("data-unread>1<"), "the badge still counts it")
            }
            #expect(try await unread() == 1, "a GET changes nothing")
            // What the page's script does once it is shown (the browser test runs it for real).
            headers[.init("X-CSRF-Token")!] = jar.csrf
            #expect(try await app.request(.post, "/api/v1/me/activity/read", headers: headers).status == .noContent)
            #expect(try await unread() == 0)
            let read = try await app.page("/activity", jar: &jar)
            #expect(!read.text.contains("data-mark-read") && !read.text.contains("activity-item unread"))
        }
    }

    @Test(arguments: Backend.all)
    func signInReturnsOnlyToPathsOnThisSite(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            _ = try await app.signUp("alice")
            for (next, expected) in [("/settings", "/settings"), ("//evil.example/x", "/"),
                                     ("https://evil.example", "/"), ("/\\evil.example", "/"),
                                     // Browsers drop tabs and line breaks from a Location: these would be //evil.example.
                                     ("/\t/evil.example", "/"), ("/\n/evil.example", "/"), ("/\r\n/evil.example", "/"),
                                     ("/x\\..\\/evil.example", "/"), ("/@alice/story?segment=a", "/@alice/story?segment=a")] {
                var jar = CookieJar()
                _ = try await app.page("/login", jar: &jar)
                let response = try await app.submit(
                    "/login", ["_csrf": jar.csrf, "handle": "alice", "password": "correct horse", "next": next], jar: &jar)
                #expect(response.headers[.location] == expected, "next=\(next)")
            }
            // The same from the sign-in page's address: `/%09/evil.example` does not reach the form.
            var jar = CookieJar()
            let page = try await app.page("/login?next=/%09/evil.example", jar: &jar)
            #expect(page.status == .ok && !page.text.contains("evil.example"))
        }
    }

    @Test(arguments: Backend.all)
    func pagesThatNeedAnAccountSendBrowsersToSignInAndComeBack(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            var jar = CookieJar()
            for path in ["/new", "/settings", "/recently-deleted", "/archive", "/activity"] {
                let response = try await app.page(path, jar: &jar)
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/login?next=\(path)")
            }
            jar = try await app.webSignUp("alice")
            for path in ["/", "/new", "/settings", "/recently-deleted", "/archive", "/activity", "/@alice",
                         "/@alice/story"] {
                let response = try await app.page(path, jar: &jar)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.headers[.cacheControl] == "no-store")
            }
        }
    }

    @Test(arguments: Backend.all)
    func missingPagesAreHTMLForBrowsersAndJSONForTheAPI(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            var jar = CookieJar()
            let page = try await app.page("/@nobody", jar: &jar)
            #expect(page.status == .notFound && page.text.contains("<!doctype html>"))
            let unknown = try await app.page("/no/such/page", jar: &jar)
            #expect(unknown.status == .notFound && unknown.text.contains("<!doctype html>"))
            let api = try await app.request(.get, "/api/v1/users/nobody", headers: [.accept: "text/html"])
            #expect(api.status == .notFound && api.errorCode == "user_not_found")
        }
    }

    @Test(arguments: Backend.all)
    func storyTextCannotBreakOutOfThePage(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let photo = try await MediaFixtures.shared.photo()
            let attack = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
            let id = try await app.postLive(alice, file: photo, fields: ["audience": "public", "caption": attack])[0]
            var jar = try await app.webSignUp("bob")
            let viewer = try await app.page("/@alice/story", jar: &jar)
            #expect(viewer.status == .ok)
            #expect(!viewer.text.contains("<script>alert(1)"))
            #expect(!viewer.text.contains("<img src=x"))
            #expect(viewer.text.contains(#"\u003c\/script>\u003cscript>alert(1)"#))
            #expect(viewer.text.contains(id))

            // For You thumbnails and the recently-deleted list escape the caption as HTML.
            let home = try await app.page("/", jar: &jar)
            #expect(home.text.contains("/@alice/story?segment=\(id)") && !home.text.contains("<img src=x"))
            var aliceJar = CookieJar()
            _ = try await app.page("/login", jar: &aliceJar)
            _ = try await app.submit("/login", ["_csrf": aliceJar.csrf, "handle": "alice", "password": "correct horse"],
                                     jar: &aliceJar)
            #expect(try await app.request(.delete, "/api/v1/stories/\(id)", token: alice).status == .ok)
            let deleted = try await app.page("/recently-deleted", jar: &aliceJar)
            #expect(deleted.text.contains(#"data-segment-id="\#(id)""#))
            #expect(deleted.text.contains("&lt;/script&gt;") && !deleted.text.contains("<img src=x"))
            #expect(deleted.text.contains(#"data-action="restore""#) && deleted.text.contains("30 days left"))
        }
    }

    @Test(arguments: Backend.all)
    func trayRingsTurnFromUnseenToSeen(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let photo = try await MediaFixtures.shared.photo()
            let ids = try await app.postLive(alice, file: photo) + app.postLive(alice, file: photo)
            var jar = try await app.webSignUp("bob")
            var headers = jar.header
            headers[HTTPField.Name("X-CSRF-Token")!] = jar.csrf
            #expect(try await app.request(.put, "/api/v1/me/following/alice", headers: headers).status == .noContent)
            #expect(try await app.page("/", jar: &jar).text.contains(#"data-handle="alice" data-ring="unseen""#))
            let viewer = try await app.page("/@alice/story", jar: &jar)
            for id in ids { #expect(viewer.text.contains(id)) }
            for id in ids {
                #expect(try await app.request(.post, "/api/v1/stories/\(id)/views", headers: headers).status == .noContent)
            }
            #expect(try await app.page("/", jar: &jar).text.contains(#"data-handle="alice" data-ring="seen""#))
            let profile = try await app.page("/@alice", jar: &jar)
            #expect(profile.text.contains(#"data-ring="seen""#) && profile.text.contains(#"data-action="unfollow""#))
        }
    }

    @Test(arguments: Backend.all)
    func theViewerGoesOnToUnseenStoriesFirstThenThroughTheTray(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let photo = try await MediaFixtures.shared.photo()
            var tokens: [String: String] = [:]
            for handle in ["ann", "ben", "cat"] {
                tokens[handle] = try await app.signUp(handle)
                _ = try await app.postLive(tokens[handle]!, file: photo)
                app.clock.advance(by: .seconds(60))
            }
            var jar = try await app.webSignUp("viewer")
            var headers = jar.header
            headers[HTTPField.Name("X-CSRF-Token")!] = jar.csrf
            for handle in ["ann", "ben", "cat"] {
                #expect(try await app.request(.put, "/api/v1/me/following/\(handle)", headers: headers).status == .noContent)
            }
            // The tray is newest first: cat, ben, ann.
            let home = try await app.page("/", jar: &jar).text
            let order = ["cat", "ben", "ann"].map { home.range(of: #"data-handle="\#($0)""#)!.lowerBound }
            #expect(order == order.sorted())
            #expect(try await app.page("/@cat/story", jar: &jar).text.contains(#""next":["ben","ann"]"#))
            #expect(try await app.page("/@ben/story", jar: &jar).text.contains(#""next":["ann","cat"]"#))
            // Once cat's story is seen, unseen ones come first, then the seen ones after in the tray.
            let cat = try await app.request(.get, "/api/v1/users/cat/story", token: tokens["cat"]!).decode(API.Story.self)
            #expect(!cat.segments.isEmpty)
            for segment in cat.segments {
                #expect(try await app.request(.post, "/api/v1/stories/\(segment.id)/views", headers: headers).status == .noContent)
            }
            #expect(try await app.page("/@ann/story", jar: &jar).text.contains(#""next":["ben","cat"]"#))
        }
    }

    @Test(arguments: Backend.all)
    func theSettingsFormSavesEverySetting(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            var jar = try await app.webSignUp("alice")
            // Unchecked boxes are absent from a form post: everything off, audience to close friends.
            let saved = try await app.submit("/settings", ["_csrf": jar.csrf, "defaultAudience": "closeFriends"],
                                             jar: &jar)
            #expect(saved.status == .seeOther && saved.headers[.location] == "/settings?saved=1")
            var headers = jar.header
            headers[.accept] = "application/json"
            let settings = try #require(try await app.request(.get, "/api/v1/me", headers: headers).decode(API.Account.self).settings)
            #expect(settings.defaultAudience == "closeFriends")
            for (flag, value) in [("allowDownloads", settings.allowDownloads), ("allowComments", settings.allowComments),
                                  ("viewHistory", settings.viewHistory), ("archiveExpired", settings.archiveExpired)] {
                #expect(!value, "\(flag)")
            }
            let page = try await app.page("/settings?saved=1", jar: &jar)
            #expect(page.text.contains("data-saved") && page.text.contains(#"value="closeFriends" selected"#))
            let bad = try await app.submit("/settings", ["_csrf": jar.csrf, "defaultAudience": "everyone"], jar: &jar)
            #expect(bad.status == .badRequest && bad.text.contains("defaultAudience"))
        }
    }

    @Test(arguments: Backend.all)
    func staticFilesAreVersionedCachedAndRevalidated(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            var jar = CookieJar()
            let home = try await app.page("/", jar: &jar)
            let match = try #require(home.text.firstMatch(of: /\/static\/app\.js\?v=([0-9a-f]+)/))
            let version = String(match.output.1)
            let script = try await app.request(.get, "/static/app.js?v=\(version)")
            #expect(script.status == .ok && script.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(script.headers[.cacheControl] == "public, max-age=31536000, immutable")
            #expect(script.text.contains("initViewer"))
            let etag = try #require(script.headers[.eTag])
            let again = try await app.request(.get, "/static/app.css", headers: [.ifNoneMatch: "\"nope\""])
            #expect(again.status == .ok && again.headers[.cacheControl] == "public, max-age=0, must-revalidate")
            #expect(try await app.request(.get, "/static/app.js", headers: [.ifNoneMatch: etag]).status == .notModified)
            #expect(try await app.request(.get, "/static/nothing.js").status == .notFound)
        }
    }
}
