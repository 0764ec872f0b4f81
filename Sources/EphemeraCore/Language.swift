import Foundation

/// The languages Ephemera speaks (API.md "Languages"): the web app's words, its dates and numbers, and the API's
/// error messages. Error `code`s and every field name stay the same in all of them.
public enum Language: String, Sendable, Hashable, CaseIterable, Codable {
    case en, fr

    public static let fallback = Language.en

    /// The value of `<html lang>` and of the web app's catalogue name.
    public var tag: String { rawValue }

    /// What a person chose in settings or on the sign-in page: a language, or `auto` (follow the browser).
    /// Anything else is a 400 naming the accepted values.
    public static func parseSetting(_ text: String, field: String = "language") throws -> Language? {
        if text == "auto" || text.isEmpty { return nil }
        guard let language = Language(rawValue: text) else {
            throw EphemeraError.invalidValue(field: field, value: String(text.prefix(40)),
                                             accepted: allCases.map(\.rawValue) + ["auto"])
        }
        return language
    }

    /// The language a request gets: the account's setting, else the signed-out visitor's cookie, else the first
    /// language of `Accept-Language` (by weight) that Ephemera speaks, else English.
    public static func chosen(setting: Language?, cookie: String?, acceptLanguage: String?) -> Language {
        if let setting { return setting }
        if let cookie, let language = Language(rawValue: cookie) { return language }
        return preferred(byAcceptLanguage: acceptLanguage) ?? fallback
    }

    /// The best of `Accept-Language` (RFC 9110 §12.5.4: `fr-CA, fr;q=0.9, en;q=0.8`) that Ephemera speaks: the
    /// highest weight wins, the earlier on ties; `q=0` refuses a language; `*` means any, so English.
    public static func preferred(byAcceptLanguage header: String?) -> Language? {
        guard let header, !header.isEmpty else { return nil }
        var best: (language: Language, weight: Double)?
        for item in header.split(separator: ",").prefix(32) {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let range = parts.first?.lowercased(), !range.isEmpty else { continue }
            var weight = 1.0
            for parameter in parts.dropFirst() where parameter.lowercased().hasPrefix("q=") {
                weight = Double(parameter.dropFirst(2)) ?? 0
            }
            guard weight > 0, weight <= 1 else { continue }
            let primary = range.split(separator: "-").first.map(String.init) ?? range
            let language = primary == "*" ? fallback : Language(rawValue: primary)
            guard let language else { continue }
            if best == nil || weight > best!.weight { best = (language, weight) }
        }
        return best?.language
    }

    // MARK: Plurals, numbers and dates

    /// Whether `count` takes the singular: English says "0 views", French "0 vue".
    public func isSingular(_ count: Int64) -> Bool {
        switch self {
        case .en: count == 1
        case .fr: count == 0 || count == 1
        }
    }

    /// An integer as the language writes it: `12,345` in English, `12 345` (narrow no-break space) in French —
    /// what the browser's `Intl.NumberFormat` writes, so the page and the server agree.
    public func integer(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        let separator = self == .fr ? "\u{202F}" : ","
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped += separator }
            grouped.append(digit)
        }
        return (value < 0 ? "-" : "") + grouped
    }

    /// A decimal with at most `fractionDigits` digits after the mark (a comma in French).
    public func decimal(_ value: Double, fractionDigits: Int = 1) -> String {
        var scale = 1.0
        for _ in 0..<max(0, fractionDigits) { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
        if self == .fr { text = text.replacingOccurrences(of: ".", with: ",") }
        return text
    }

    public var monthNames: [String] {
        switch self {
        case .en: ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                   "October", "November", "December"]
        case .fr: ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
                   "octobre", "novembre", "décembre"]
        }
    }

    /// "21 November 2026" / "21 novembre 2026" ("1er" for the first of a month in French).
    public func date(year: Int, month: Int, day: Int) -> String {
        let names = monthNames
        guard (1...names.count).contains(month) else { return "\(year)-\(month)-\(day)" }
        let dayText = self == .fr && day == 1 ? "1er" : String(day)
        return "\(dayText) \(names[month - 1]) \(year)"
    }

    /// "November 2026" / "novembre 2026".
    public func month(year: Int, month: Int) -> String {
        let names = monthNames
        guard (1...names.count).contains(month) else { return "\(year)-\(month)" }
        return "\(names[month - 1]) \(year)"
    }
}
