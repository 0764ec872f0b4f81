import EphemeraCore
import Foundation

/// What the templates render: plain values, already formatted for people. Mustache reads stored properties
/// only (through `Mirror`), so everything a template shows is stored, never computed. Mustache escapes every `{{value}}`;
/// only `storyJSON` goes in raw, and it is made safe for a `<script type="application/json">` block.

/// Every page: the layout's values plus the page's own `data`.
struct PageShell<Data>: Sendable where Data: Sendable {
    var title: String
    /// `data-page` on `<body>`: which part of app.js runs.
    var page: String
    var csrf: String
    var me: MeView?
    var asset: String
    /// The viewer and the sign-in pages have no navigation bars.
    var chrome: Bool
    var data: Data
}

struct MeView: Sendable {
    var handle: String
    var displayName: String
    var initial: String
    var hue: Int
    var hasUnread: Bool
    var unreadLabel: String
    /// Moderators and admins get the way to the moderation queue.
    var moderator: Bool

    init(_ account: Account, unread: Int) {
        let person = PersonView(account)
        handle = account.handle
        displayName = account.displayName
        initial = person.initial
        hue = person.hue
        hasUnread = unread > 0
        unreadLabel = unread > 99 ? "99+" : String(unread)
        moderator = ModerationRules.canModerate(account.role)
    }
}

/// An avatar: the initial on a colour derived from the handle (accounts have no pictures).
struct PersonView: Sendable {
    var handle: String
    var displayName: String
    var initial: String
    var hue: Int

    init(_ account: Account) {
        self.init(handle: account.handle, displayName: account.displayName)
    }

    init(_ author: AuthorBody) {
        self.init(handle: author.handle, displayName: author.displayName)
    }

    init(handle: String, displayName: String) {
        self.handle = handle
        self.displayName = displayName
        initial = initialLetter(displayName.isEmpty ? handle : displayName)
        hue = avatarHue(handle)
    }
}

struct TrayItemView: Sendable {
    var person: PersonView
    var ring: String
    var isMe: Bool
    /// My own item without a story posts one; every other item opens the story.
    var href: String
    var label: String
    /// What a screen reader says of the ring.
    var ringLabel: String

    init(person: PersonView, ring: String, isMe: Bool) {
        self.person = person
        self.ring = ring
        self.isMe = isMe
        href = ring != "none" ? "/@\(person.handle)/story" : "/new"
        label = isMe ? "Your story" : person.handle
        ringLabel = isMe ? "Your story" : "\(person.displayName)'s story" + (ring == "muted" ? " (muted)" : "")
    }
}

/// A thumbnail of one segment (For You, archive, recently deleted).
struct ThumbView: Sendable {
    var id: String
    var person: PersonView
    var poster: String?
    var isVideo: Bool
    var duration: String
    var caption: String?
    var when: String
    var href: String
    var timeLeft: String?
}

struct ActivityView: Sendable {
    var person: PersonView
    /// Said by Ephemera's moderators rather than a person.
    var system: Bool
    var sentence: String
    var quote: String?
    var when: String
    var unread: Bool
    var href: String
}

func initialLetter(_ text: String) -> String {
    text.first.map { String($0).uppercased() } ?? "?"
}

/// A stable hue for a handle, so the same person always has the same colour.
func avatarHue(_ handle: String) -> Int {
    var hash: UInt32 = 2_166_136_261
    for byte in handle.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
    return Int(hash % 360)
}

/// "now", "5m", "3h", "2d": the short ages stories show.
func shortAge(from then: Instant, to now: Instant) -> String {
    let seconds = max(0, (now.milliseconds - then.milliseconds) / 1000)
    if seconds < 60 { return "now" }
    if seconds < 3600 { return "\(seconds / 60)m" }
    if seconds < 86_400 { return "\(seconds / 3600)h" }
    return "\(seconds / 86_400)d"
}

/// "29 days left", "5 hours left", "12 minutes left".
func timeLeft(until end: Instant, now: Instant) -> String { timeUntil(end, now: now) + " left" }

/// "29 days", "5 hours", "12 minutes" from `now` to `end`.
func timeUntil(_ end: Instant, now: Instant) -> String {
    let seconds = max(0, (end.milliseconds - now.milliseconds) / 1000)
    func plural(_ n: Int64, _ unit: String) -> String { "\(n) \(unit)\(n == 1 ? "" : "s")" }
    // Whole days round up: a segment deleted a moment ago has "30 days left", not 29.
    if seconds >= 2 * 86_400 { return plural((seconds + 86_399) / 86_400, "day") }
    if seconds >= 3600 { return plural(seconds / 3600, "hour") }
    return plural(max(1, seconds / 60), "minute")
}

func durationLabel(milliseconds: Int64) -> String {
    let seconds = Int((Double(milliseconds) / 1000).rounded())
    return "0:\(seconds < 10 ? "0" : "")\(seconds)"
}

/// JSON for a `<script type="application/json">` block: `<` is escaped so no `</script>` can end it early.
func scriptSafeJSON(_ value: some Encodable) throws -> String {
    let data = try JSONEncoder().encode(value)
    return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
}
