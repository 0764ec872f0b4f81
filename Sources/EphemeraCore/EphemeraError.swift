/// A failure a person can act on: a stable snake_case `code`, a sentence `message`, and the `kind` of failure
/// that the HTTP layer maps to a status code (in exactly one place, `EphemeraError+HTTP`).
public struct EphemeraError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, in the terms of the API contract's status classes.
    public enum Kind: String, Sendable, Hashable {
        case badRequest, unauthorized, forbidden, notFound, conflict, gone, tooLarge, unsupportedMedia,
            unprocessable, rateLimited, unavailable, `internal`
        /// A protocol version the server does not speak (tus: `Tus-Resumable`).
        case preconditionFailed
        /// Bytes that do not match the checksum sent with them (tus's checksum extension).
        case checksumMismatch
        /// The server's disk is full (507): nothing was kept; it works again once space returns.
        case insufficientStorage
    }

    public var kind: Kind
    public var code: String
    /// The sentence, in English and translatable (`Phrase`): the HTTP layer says it in the request's language.
    public var phrase: Phrase
    /// The English sentence (logs, the CLI's own errors).
    public var message: String { phrase.english }
    /// For `rateLimited`: seconds until a retry can succeed (the `Retry-After` header).
    public var retryAfterSeconds: Int?

    public init(_ kind: Kind, _ code: String, _ message: Phrase) {
        self.kind = kind
        self.code = code
        self.phrase = message
    }

    public var description: String { "\(code): \(message)" }

    /// Whether the same request may succeed later without any change on the caller's side: the server was
    /// busy, full or could not reach its database or storage. Everything else refuses the request itself.
    public var isTransient: Bool {
        switch kind {
        case .rateLimited, .unavailable, .insufficientStorage, .internal: true
        default: false
        }
    }

    public func retrying(after seconds: Int) -> EphemeraError {
        var copy = self
        copy.retryAfterSeconds = seconds
        return copy
    }
}

extension EphemeraError {
    public static func badRequest(_ code: String, _ message: Phrase) -> Self { .init(.badRequest, code, message) }
    public static func unprocessable(_ code: String, _ message: Phrase) -> Self { .init(.unprocessable, code, message) }
    public static func conflict(_ code: String, _ message: Phrase) -> Self { .init(.conflict, code, message) }

    public static let unauthenticated = EphemeraError(
        .unauthorized, "unauthenticated", "Sign in first: send an Authorization: Bearer token from POST /api/v1/sessions.")
    public static let invalidCredentials = EphemeraError(
        .unauthorized, "invalid_credentials", "That handle and password do not match an account.")
    public static let storyNotFound = EphemeraError(
        .notFound, "story_not_found", "There is no story segment with that id, or you cannot see it.")
    public static let userNotFound = EphemeraError(
        .notFound, "user_not_found", "There is no account with that handle.")
    /// The media store (disk or object store) could not be used: nothing was stored or served.
    public static let mediaStoreUnavailable = EphemeraError(
        .unavailable, "media_store_unavailable",
        "Media storage cannot be reached right now; nothing was saved. Try again in a minute.").retrying(after: 30)
    /// The database cannot be reached right now (down, restarting): 503, retried in a few seconds.
    public static let databaseUnavailable = EphemeraError(
        .unavailable, "database_unavailable", "The database cannot be reached right now. Try again in a few seconds.")
        .retrying(after: 5)
    public static let mediaNotFound = EphemeraError(
        .notFound, "media_not_found", "There is no such media, or you cannot see it.")
    public static let notTheAuthor = EphemeraError(
        .forbidden, "not_the_author", "Only the author of this story can do that.")
    public static let cannotTargetSelf = EphemeraError(
        .badRequest, "cannot_target_self", "You cannot do that to your own account.")

    /// An unknown value for an enumerated field, naming the accepted ones.
    public static func invalidValue(field: String, value: String, accepted: [String]) -> Self {
        EphemeraError(.badRequest, "invalid_\(field.snakeCased)",
              "'\(value)' is not a valid \(field); use one of: \(accepted.joined(separator: ", ")).")
    }
}

extension String {
    var snakeCased: String {
        var out = ""
        for ch in self {
            if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
        }
        return out
    }
}
