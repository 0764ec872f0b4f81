import Crypto
import EphemeraCore
import EphemeraStore
import Foundation
import Hummingbird

/// The web app's cookies: the session token (the same kind of token as the API's bearer token) and the CSRF
/// token of the double-submit pattern. Both HttpOnly and SameSite=Lax; Secure when the public URL is https.
enum WebSession {
    static let sessionCookie = "ephemera_session"
    static let csrfCookie = "ephemera_csrf"
    /// A signed-out visitor's language (`en`, `fr`), chosen on the sign-in page; an account's setting wins.
    static let languageCookie = "ephemera_lang"
    static let formContentType = "application/x-www-form-urlencoded"
    /// Sessions do not expire on their own (as in the API); the cookie lasts a year, renewed at each sign-in.
    static let sessionMaxAge = 365 * 24 * 3600

    static func sessionCookie(_ token: String, secure: Bool) -> Cookie {
        Cookie(name: sessionCookie, value: token, maxAge: sessionMaxAge, path: "/", secure: secure, httpOnly: true,
               sameSite: .lax)
    }

    static func expiredSessionCookie(secure: Bool) -> Cookie {
        Cookie(name: sessionCookie, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    static func csrfCookie(_ token: String, secure: Bool) -> Cookie {
        Cookie(name: csrfCookie, value: token, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    /// Kept a year; readable by no script (the page learns its language from `<html lang>`).
    static func languageCookie(_ language: Language?, secure: Bool) -> Cookie {
        Cookie(name: languageCookie, value: language?.rawValue ?? "", maxAge: language == nil ? 0 : sessionMaxAge,
               path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    static func newCSRFToken() -> String { IDs.randomToken(bytes: 24) }

    /// Constant-time comparison, so response timing does not reveal how much of a guess was right.
    static func matches(_ submitted: String, _ expected: String) -> Bool {
        let a = Array(submitted.utf8), b = Array(expected.utf8)
        guard a.count == b.count, !a.isEmpty else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

/// The fields of an `application/x-www-form-urlencoded` body (the last value wins for a repeated name).
struct FormFields {
    private var values: [String: String] = [:]

    init(_ body: String) {
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]) else { continue }
            values[name] = parts.count > 1 ? Self.decode(parts[1]) ?? "" : ""
        }
    }

    subscript(_ name: String) -> String? { values[name] }

    /// A checkbox is on when the browser sent it at all.
    func flag(_ name: String) -> Bool { values[name] != nil }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// Reads a form body (small: the request context's limit) into fields.
    static func read(_ request: Request, context: AppRequestContext) async throws -> FormFields {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        return FormFields(String(buffer: buffer))
    }
}
