/// The rules for handles, passwords and display names.
public enum AccountRules {
    /// `[a-z0-9_.]{3,30}`.
    public static func validateHandle(_ handle: String) throws {
        let allowed = handle.unicodeScalars.allSatisfy { s in
            (s >= "a" && s <= "z") || (s >= "0" && s <= "9") || s == "_" || s == "."
        }
        guard allowed, (3...30).contains(handle.count) else {
            throw EphemeraError.badRequest(
                "invalid_handle",
                "A handle is 3 to 30 characters: lowercase letters, digits, '_' and '.'.")
        }
    }

    public static func validatePassword(_ password: String) throws {
        guard password.count >= 8 else {
            throw EphemeraError.badRequest("weak_password", "A password needs at least 8 characters.")
        }
        guard password.utf8.count <= 72 else {
            // bcrypt only reads the first 72 bytes; refuse rather than silently ignore the rest.
            throw EphemeraError.badRequest("password_too_long", "A password may be at most 72 bytes long.")
        }
    }

    public static func validateDisplayName(_ name: String) throws {
        guard name.count <= 60 else {
            throw EphemeraError.badRequest("invalid_display_name", "A display name may be at most 60 characters.")
        }
    }

    /// The role a new account starts with: admin for the handle the operator named (`serve --admin`), else
    /// member.
    public static func initialRole(handle: String, adminHandle: String?) -> Role {
        handle == adminHandle ? .admin : .member
    }

    public static let maxCaptionLength = 2200

    public static func validateCaption(_ caption: String) throws {
        guard caption.count <= maxCaptionLength else {
            throw EphemeraError.badRequest(
                "caption_too_long", "A caption may be at most \(maxCaptionLength) characters; this one has \(caption.count).")
        }
    }
}

/// An account's roles (moderation arrives later; the role is stored from the start).
public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
    case member, moderator, admin
}

/// What an author chooses for their stories.
public struct AccountSettings: Sendable, Hashable {
    public var defaultAudience: Audience
    public var allowDownloads: Bool
    public var allowComments: Bool
    public var viewHistory: Bool
    public var archiveExpired: Bool
    /// The language of the web app and of error messages; nil follows the browser (`Accept-Language`).
    public var language: Language?

    public init(defaultAudience: Audience = .followers, allowDownloads: Bool = true, allowComments: Bool = true,
                viewHistory: Bool = false, archiveExpired: Bool = true, language: Language? = nil) {
        self.defaultAudience = defaultAudience
        self.allowDownloads = allowDownloads
        self.allowComments = allowComments
        self.viewHistory = viewHistory
        self.archiveExpired = archiveExpired
        self.language = language
    }
}

/// Profile view history is shown, and kept, for this long.
public let profileViewWindow: Duration = .seconds(30 * 86400)

/// The oldest instant of profile view history still shown and kept at `now`.
public func profileViewHistoryStart(at now: Instant) -> Instant { now - profileViewWindow }

/// Whether `viewer` looking at `profile` goes into profile view history: only between two different people
/// who both share their view history.
public func isProfileViewRecorded(viewer: Account, profile: Account) -> Bool {
    viewer.id != profile.id && viewer.settings.viewHistory && profile.settings.viewHistory
}

/// A person with an account.
public struct Account: Sendable, Hashable {
    public var id: String
    public var handle: String
    public var displayName: String
    public var role: Role
    public var createdAt: Instant
    public var settings: AccountSettings

    public init(id: String, handle: String, displayName: String, role: Role, createdAt: Instant, settings: AccountSettings) {
        self.id = id
        self.handle = handle
        self.displayName = displayName
        self.role = role
        self.createdAt = createdAt
        self.settings = settings
    }
}
