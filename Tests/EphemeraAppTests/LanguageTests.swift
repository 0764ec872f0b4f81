import EphemeraCore
import EphemeraTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// French (issue 20, point 3; API.md "Languages"): `Accept-Language`, then the signed-out visitor's cookie, then
/// the account's `language` setting choose the web app's words, dates and numbers, `<html lang>` and the API's
/// error messages; error codes never change.
@Suite struct LanguageTests {
    static func headers(_ acceptLanguage: String?) -> HTTPFields {
        var fields = HTTPFields()
        if let acceptLanguage { fields[.acceptLanguage] = acceptLanguage }
        return fields
    }

    @Test(arguments: Backend.all)
    func errorMessagesFollowAcceptLanguageThenTheSettingAndCodesNeverChange(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let token = try await app.signUp("amelie")
            let wrong: [String: any Sendable] = ["handle": "amelie", "password": "not the password"]
            let english = try await app.request(.post, "/api/v1/sessions", json: wrong)
            let french = try await app.request(.post, "/api/v1/sessions", json: wrong,
                                               headers: Self.headers("fr-FR,fr;q=0.9,en;q=0.5"))
            #expect(english.status == .unauthorized && french.status == .unauthorized)
            #expect(english.errorCode == "invalid_credentials" && french.errorCode == "invalid_credentials")
            #expect(english.errorMessage == "That handle and password do not match an account.")
            #expect(french.errorMessage == "Cet identifiant et ce mot de passe ne correspondent à aucun compte.")
            // A language Ephemera does not speak falls back to English.
            let german = try await app.request(.post, "/api/v1/sessions", json: wrong, headers: Self.headers("de-DE"))
            #expect(german.errorMessage == english.errorMessage)

            // Sentences with values: the template is translated, the values (numbers written the French way) go in.
            let long = String(repeating: "x", count: 501)
            let story = try await app.postLive(token, file: try await MediaFixtures.shared.photo())[0]
            let other = try await app.signUp("bruno")
            _ = try await app.request(.put, "/api/v1/me/following/amelie", token: other)
            let tooLong = try await app.request(.post, "/api/v1/stories/\(story)/comments", token: other,
                                                json: ["text": long], headers: Self.headers("fr"))
            #expect(tooLong.errorCode == "comment_too_long")
            #expect(tooLong.errorMessage == "Un commentaire peut compter au plus 500 caractères\u{202F}; celui-ci en a 501.")

            // The account's setting wins over the browser's Accept-Language; `auto` follows the browser again.
            let set = try await app.request(.patch, "/api/v1/me/settings", token: other, json: ["language": "fr"])
            #expect(set.status == .ok)
            #expect(try set.decode(API.Settings.self).language == "fr")
            let me = try await app.request(.get, "/api/v1/me", token: other)
            #expect(try me.decode(API.Account.self).settings?.language == "fr")
            let missing = try await app.request(.get, "/api/v1/stories/nope", token: other, headers: Self.headers("en"))
            #expect(missing.errorCode == "story_not_found")
            #expect(missing.errorMessage == "Aucun segment de story n’a cet identifiant, ou vous ne pouvez pas le voir.")
            let invalid = try await app.request(.patch, "/api/v1/me/settings", token: other, json: ["language": "de"])
            #expect(invalid.status == .badRequest && invalid.errorCode == "invalid_language")
            #expect(invalid.errorMessage?.hasPrefix("«\u{202F}de\u{202F}» n’est pas une valeur valide pour language") == true)
            let auto = try await app.request(.patch, "/api/v1/me/settings", token: other, json: ["language": "auto"])
            #expect(try auto.decode(API.Settings.self).language == nil)
            let again = try await app.request(.get, "/api/v1/stories/nope", token: other, headers: Self.headers("en"))
            #expect(again.errorMessage == "There is no story segment with that id, or you cannot see it.")
        }
    }

    @Test(arguments: Backend.all)
    func pagesSpeakFrenchByAcceptLanguageTheCookieAndTheSetting(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            // A signed-out browser asking for French.
            var visitor = CookieJar()
            var headers = visitor.header
            headers[.acceptLanguage] = "fr-CA,fr;q=0.8"
            let login = try await app.request(.get, "/login", headers: headers)
            visitor.absorb(login)
            #expect(login.status == .ok && login.headers[.contentLanguage] == "fr")
            #expect(login.text.contains("<html lang=\"fr\">") && login.text.contains("<h1>Se connecter</h1>"))
            #expect(login.text.contains("/static/strings-fr.js?v="))

            // The same browser choosing English on the sign-in page: a cookie, and the page in English.
            let chosen = try await app.submit("/language", ["_csrf": visitor.csrf, "language": "en", "next": "/login"],
                                              jar: &visitor)
            #expect(chosen.status == .seeOther && chosen.headers[.location] == "/login")
            #expect(visitor.cookies["ephemera_lang"] == "en")
            var withCookie = visitor.header
            withCookie[.acceptLanguage] = "fr"
            let english = try await app.request(.get, "/login", headers: withCookie)
            #expect(english.text.contains("<html lang=\"en\">") && english.text.contains("<h1>Sign in</h1>"))
            // Its wrong password, said in its language.
            let refused = try await app.submit("/login", ["_csrf": visitor.csrf, "handle": "nobody", "password": "whatever1",
                                                          "next": "/"], jar: &visitor)
            #expect(refused.text.contains("That handle and password do not match an account."))

            // A signed-in author who chose French in settings: every page, dates and numbers included.
            var jar = try await app.webSignUp("camille")
            let saved = try await app.submit("/settings", ["_csrf": jar.csrf, "defaultAudience": "followers",
                                                           "archiveExpired": "on", "language": "fr"], jar: &jar)
            #expect(saved.status == .seeOther && jar.cookies["ephemera_lang"] == "fr")
            let token = try #require(jar.cookies["ephemera_session"])
            _ = try await app.postLive(token, file: try await MediaFixtures.shared.photo())
            let home = try await app.page("/", jar: &jar)
            #expect(home.text.contains("<html lang=\"fr\">") && home.text.contains("Nouvelle story"))
            #expect(home.text.contains("aria-label=\"Votre story\""))
            let settings = try await app.page("/settings", jar: &jar)
            #expect(settings.text.contains("<option value=\"fr\" selected>Français</option>"))
            let profile = try await app.page("/@camille", jar: &jar)
            #expect(profile.text.contains("<b data-followers>0</b> abonné<"))

            // The archive a day and more later: French month names and plurals.
            app.clock.advance(by: .seconds(2 * 86400))
            try await app.services.sweeper.sweep()
            let archive = try await app.page("/archive", jar: &jar)
            #expect(archive.text.contains("novembre 2026") && archive.text.contains("21 novembre 2026\u{202F}: 1 story"))
            #expect(archive.text.contains("<span>lun.</span>"))
            // The error page too.
            let missing = try await app.page("/@nobody_here", jar: &jar)
            #expect(missing.status == .notFound && missing.text.contains("Introuvable")
                    && missing.text.contains("Aucun compte n’a cet identifiant."))

            // app.js's words for French, served like the other static files.
            let script = try await app.request(.get, "/static/strings-fr.js")
            #expect(script.status == .ok && script.text.hasPrefix("window.ephemeraStrings = {"))
            #expect(script.text.contains("\"js_link_copied\":\"Lien copié\""))
        }
    }
}
