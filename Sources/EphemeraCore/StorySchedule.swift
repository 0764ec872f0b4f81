import Foundation

/// How long a story lasts and when it goes live (API.md, "Edit, alt text, lifetime, scheduling"). A segment's
/// `expiresAt` is its `publishAt` (or its posting time) plus its lifetime; until `publishAt` it is `scheduled`:
/// no one sees it in a story, the tray or anywhere else (`isVisible`), and its author reads it as scheduled.
public enum StorySchedule {
    /// The lifetimes a poster may choose, by the name the API takes.
    public static let lifetimes: [(name: String, duration: Duration)] = [
        ("6h", .seconds(6 * 3600)), ("12h", .seconds(12 * 3600)), ("24h", .seconds(24 * 3600)), ("48h", .seconds(48 * 3600)),
    ]

    /// The furthest ahead a story may be scheduled.
    public static let maxAhead: Duration = .seconds(7 * 24 * 3600)

    /// The lifetime named `text`, refused when it is not one of `lifetimes` or longer than the server allows.
    public static func lifetime(_ text: String, max: Duration) throws -> Duration {
        guard let found = lifetimes.first(where: { $0.name == text.trimmingCharacters(in: .whitespaces) }) else {
            throw EphemeraError.invalidValue(field: "lifetime", value: String(text.prefix(20)), accepted: lifetimes.map(\.name))
        }
        guard found.duration <= max else {
            let allowed = lifetimes.filter { $0.duration <= max }.map(\.name)
            throw EphemeraError.badRequest("lifetime_too_long",
                "This server keeps stories at most \(Int(max.seconds / 3600)) h; choose one of: \(allowed.joined(separator: ", ")).")
        }
        return found.duration
    }

    /// `publishAt` as sent (RFC 3339, with or without fractional seconds, any offset).
    public static func publishAt(_ text: String) throws -> Instant {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: trimmed) { return Instant(date) }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: trimmed) { return Instant(date) }
        throw EphemeraError.badRequest("invalid_publish_at",
            "publishAt must be a date and time like 2026-12-24T18:00:00Z (RFC 3339); '\(trimmed.prefix(40))' is not.")
    }

    /// A `publishAt` checked against `now`: not in the past, at most `maxAhead` ahead. nil (publish now) for an
    /// instant within the last minute, which a client's clock or a slow upload explains.
    public static func checked(publishAt: Instant, now: Instant) throws -> Instant? {
        if publishAt <= now {
            guard now - publishAt <= .seconds(60) else {
                throw EphemeraError.badRequest("publish_at_in_past", "publishAt is in the past; leave it out to post now.")
            }
            return nil
        }
        guard publishAt - now <= maxAhead else {
            throw EphemeraError.badRequest("publish_at_too_far",
                "A story can be scheduled at most 7 days ahead; publishAt is \(Int((publishAt - now).seconds / 86400)) days away.")
        }
        return publishAt
    }
}
