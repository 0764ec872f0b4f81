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
    /// `<html lang>` and the `strings-{lang}.js` app.js reads its words from.
    var lang: String
    /// The words of the page's language: `{{t.key}}` in the templates.
    var t: [String: String]
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

    init(person: PersonView, ring: String, isMe: Bool, strings s: Catalogue) {
        self.person = person
        self.ring = ring
        self.isMe = isMe
        href = ring != "none" ? "/@\(person.handle)/story" : "/new"
        label = isMe ? s["your_story"] : person.handle
        ringLabel = isMe ? s["your_story"]
            : ring == "muted" ? s("story_of_muted", ["name": person.displayName]) : s("story_of", ["name": person.displayName])
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

/// "now", "5m", "3h", "2d" ("maintenant", "5 min", "3 h", "2 j"): the short ages stories show.
func shortAge(from then: Instant, to now: Instant, strings s: Catalogue) -> String {
    let seconds = max(0, (now.milliseconds - then.milliseconds) / 1000)
    if seconds < 60 { return s["age_now"] }
    if seconds < 3600 { return s("age_minutes", ["n": String(seconds / 60)]) }
    if seconds < 86_400 { return s("age_hours", ["n": String(seconds / 3600)]) }
    return s("age_days", ["n": String(seconds / 86_400)])
}

/// "29 days left", "5 hours left", "12 minutes left".
func timeLeft(until end: Instant, now: Instant, strings s: Catalogue) -> String {
    s("time_left", ["time": timeUntil(end, now: now, strings: s)])
}

/// "29 days", "5 hours", "12 minutes" from `now` to `end`.
func timeUntil(_ end: Instant, now: Instant, strings s: Catalogue) -> String {
    let seconds = max(0, (end.milliseconds - now.milliseconds) / 1000)
    // Whole days round up: a segment deleted a moment ago has "30 days left", not 29.
    if seconds >= 2 * 86_400 { return s.count("days", Int((seconds + 86_399) / 86_400)) }
    if seconds >= 3600 { return s.count("hours", Int(seconds / 3600)) }
    return s.count("minutes", Int(max(1, seconds / 60)))
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
