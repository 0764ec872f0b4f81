import EphemeraCore
import Foundation
import Testing

/// The catalogues of `Sources/EphemeraApp/Web/Catalogues` (issue 20, point 3) hold every string the web app and
/// the API say, in every language: this fails when a key is missing from either catalogue, when one names a key
/// nothing uses, or when a translation loses or invents a placeholder.
///
/// The web's keys are read where they are used: `{{t.KEY}}` in the templates, `t("KEY")` and `tn("KEY", n)` in
/// app.js, `s["KEY"]`, `s("KEY", …)` and `s.count("KEY", n)` in the page-building Swift (plurals need `KEY_one`
/// and `KEY_other`). The API's error sentences are found as gettext finds them: every `EphemeraError(.kind,
/// "code", "message")` and `.badRequest/.unprocessable/.conflict("code", "message")` in the sources, the message's
/// string literals joined as `Phrase` joins them (`\(…)` becomes `{0}`, `{1}`, …; `+` continues one; the two
/// sides of `? :` are two); each must be a key of the French catalogue's `errors`, and every key there a sentence
/// the sources still say.
@Suite struct MessageCatalogueTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let sources = root.appendingPathComponent("Sources")
    static let web = sources.appendingPathComponent("EphemeraApp/Web")

    struct File: Decodable {
        var web: [String: String]
        var errors: [String: String]
    }

    static func catalogue(_ language: Language) throws -> File {
        let url = web.appendingPathComponent("Catalogues/\(language.rawValue).json")
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
    }

    static func text(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

    static func files(under directory: URL, ending suffix: String) -> [URL] {
        let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
        return (walker?.allObjects as? [URL] ?? []).filter { $0.lastPathComponent.hasSuffix(suffix) }
            .sorted { $0.path < $1.path }
    }

    static func matches(_ pattern: String, in text: String) throws -> [String] {
        let regex = try NSRegularExpression(pattern: pattern)
        let range = NSRange(text.startIndex..., in: text)
        return regex.matches(in: text, range: range).compactMap { match in
            Range(match.range(at: 1), in: text).map { String(text[$0]) }
        }
    }

    /// `{name}` placeholders of a string.
    static func placeholders(_ text: String) throws -> Set<String> {
        Set(try matches(#"\{([A-Za-z0-9_]+)\}"#, in: text))
    }

    /// Keys the code builds from a value (`filter_\(rawValue)`…): each case's key must exist.
    static var builtKeys: Set<String> {
        var keys = Set<String>()
        keys.formUnion(CreativeEdits.Filter.allCases.map { "filter_\($0.rawValue)" })
        keys.formUnion(TextStory.Background.allCases.map { "background_\($0.rawValue)" })
        keys.formUnion(ReportReason.allCases.map { "reason_\($0.rawValue)" })
        keys.formUnion(Language.allCases.map { "language_\($0.rawValue)" })
        keys.formUnion(SegmentState.allCases.map { "state_\($0.rawValue)" })
        keys.formUnion(["impressions", "reach", "completionRate", "tapsForward", "tapsBack", "exits", "replies",
                        "reactions", "shares", "downloads"].map { "insight_\($0)" })
        return keys
    }

    /// Every web key the templates, app.js and the Swift that builds pages use.
    static func usedWebKeys() throws -> Set<String> {
        var used = builtKeys
        for template in files(under: web.appendingPathComponent("Templates"), ending: ".mustache") {
            used.formUnion(try matches(#"\{\{\s*t\.([A-Za-z0-9_]+)\s*\}\}"#, in: try text(template)))
        }
        let script = try text(web.appendingPathComponent("Static/app.js"))
        used.formUnion(try matches(#"\bt\("([A-Za-z0-9_]+)""#, in: script))
        used.formUnion(try matches(#"\bt\([^()"]*\?\s*"([A-Za-z0-9_]+)""#, in: script))
        used.formUnion(try matches(#"\bt\([^()"]*\?\s*"[A-Za-z0-9_]+"\s*:\s*"([A-Za-z0-9_]+)""#, in: script))
        for key in try matches(#"\btn\("([A-Za-z0-9_]+)""#, in: script) { used.formUnion([key + "_one", key + "_other"]) }
        for file in files(under: sources.appendingPathComponent("EphemeraApp"), ending: ".swift") {
            let swift = try text(file)
            used.formUnion(try matches(#"\bs\["([A-Za-z0-9_]+)"\]"#, in: swift))
            used.formUnion(try matches(#"\bs\(\s*"([A-Za-z0-9_]+)""#, in: swift))
            used.formUnion(try matches(#"\bs\[[^\]"]*\?\s*"([A-Za-z0-9_]+)""#, in: swift))
            used.formUnion(try matches(#"\bs\[[^\]"]*\?\s*"[A-Za-z0-9_]+"\s*:\s*"([A-Za-z0-9_]+)""#, in: swift))
            used.formUnion(try matches(#"\bs\((?:[^()"]*)\?\s*"([A-Za-z0-9_]+)""#, in: swift))
            used.formUnion(try matches(#"\bs\((?:[^()"]*)\?\s*"[A-Za-z0-9_]+"\s*:\s*"([A-Za-z0-9_]+)""#, in: swift))
            for key in try matches(#"\.count\(\s*"([A-Za-z0-9_]+)""#, in: swift) {
                used.formUnion([key + "_one", key + "_other"])
            }
            for key in try matches(#"\bs\[[^\]]*\?\s*"([A-Za-z0-9_]+)_one""#, in: swift) {
                used.formUnion([key + "_one", key + "_other"])
            }
        }
        return used
    }

    @Test func everyWebKeyIsInBothCataloguesWithTheSamePlaceholders() throws {
        let english = try Self.catalogue(.en).web
        let french = try Self.catalogue(.fr).web
        let used = try Self.usedWebKeys()
        #expect(used.count > 300, "the scan found only \(used.count) keys; is it still reading the sources?")
        let missing = used.subtracting(english.keys).sorted()
        #expect(missing.isEmpty, "used but not in en.json: \(missing)")
        #expect(Set(english.keys).subtracting(french.keys).sorted().isEmpty,
                "in en.json but not fr.json: \(Set(english.keys).subtracting(french.keys).sorted())")
        #expect(Set(french.keys).subtracting(english.keys).sorted().isEmpty,
                "in fr.json but not en.json: \(Set(french.keys).subtracting(english.keys).sorted())")
        let unused = Set(english.keys).subtracting(used).sorted()
        #expect(unused.isEmpty, "in the catalogues but used nowhere: \(unused)")
        for (key, text) in english {
            guard let translated = french[key] else { continue }
            #expect(try Self.placeholders(text) == Self.placeholders(translated), "placeholders differ in \(key)")
            #expect(!translated.isEmpty, "empty translation of \(key)")
        }
    }

    @Test func everyErrorSentenceOfTheSourcesIsTranslatedAndNoOther() throws {
        let french = try Self.catalogue(.fr).errors
        #expect(try Self.catalogue(.en).errors.isEmpty, "English sentences live in the sources, beside their rules")
        var said = Set<String>()
        for file in Self.files(under: Self.sources, ending: ".swift") {
            said.formUnion(try ErrorSentences.templates(in: Self.text(file)))
        }
        #expect(said.count > 100, "the scan found only \(said.count) sentences; is it still reading the sources?")
        let missing = said.subtracting(french.keys).sorted()
        #expect(missing.isEmpty, "error sentences without French (add them to fr.json's errors):\n\(missing.joined(separator: "\n"))")
        let stale = Set(french.keys).subtracting(said).sorted()
        #expect(stale.isEmpty, "French for sentences the sources no longer say:\n\(stale.joined(separator: "\n"))")
        for (english, translated) in french {
            #expect(try Self.placeholders(english) == Self.placeholders(translated), "placeholders differ in: \(english)")
        }
    }

    /// The extraction itself, on the shapes the sources use.
    @Test func theExtractionReadsSentencesAsPhraseBuildsThem() throws {
        let source = #"""
            throw EphemeraError.badRequest("a", "One \(x) and \(y.z(1)).")
            throw EphemeraError(.tooLarge, "b",
                "First \(n) part; " + "second \(m) part.")
            EphemeraError.conflict("c", done ? "Done \("nested")." : "Not done.")
            .badRequest("d", error.body.map(Phrase.init(verbatim:)) ?? "Fallback with \"quotes\".")
            """#
        #expect(try ErrorSentences.templates(in: source) == [
            "One {0} and {1}.", "First {0} part; second {1} part.", "Done {0}.", "Not done.",
            "Fallback with \"quotes\".",
        ])
        // The same templates as Phrase makes at run time.
        let (x, y, n, m) = ("X", "Y", 3, 4)
        #expect(EphemeraError.badRequest("a", "One \(x) and \(y).").phrase.template == "One {0} and {1}.")
        #expect(EphemeraError(.tooLarge, "b", "First \(n) part; " + "second \(m) part.").phrase.template
                == "First {0} part; second {1} part.")
    }

    @Test func aPhraseIsSaidInTheLanguageAskedFor() {
        let phrase: Phrase = "The photo is \(12_345) px; " + "at most \(2) allowed."
        let catalogue = ["The photo is {0} px; at most {1} allowed.": "La photo fait {0} px ; {1} au plus."]
        #expect(phrase.english == "The photo is 12345 px; at most 2 allowed.")
        #expect(phrase.rendered(in: .fr, catalogue: catalogue) == "La photo fait 12\u{202F}345 px ; 2 au plus.")
        #expect(phrase.rendered(in: .fr, catalogue: [:]) == "The photo is 12\u{202F}345 px; at most 2 allowed.")
        #expect(Phrase(verbatim: "Literal {0} stays.").rendered(in: .fr, catalogue: [:]) == "Literal {0} stays.")
    }

    @Test func theLanguageFollowsTheSettingThenTheCookieThenAcceptLanguage() {
        #expect(Language.preferred(byAcceptLanguage: "fr-CA, fr;q=0.9, en;q=0.8") == .fr)
        #expect(Language.preferred(byAcceptLanguage: "de-DE, en;q=0.5, fr;q=0.7") == .fr)
        #expect(Language.preferred(byAcceptLanguage: "de, es") == nil)
        #expect(Language.preferred(byAcceptLanguage: "fr;q=0, en") == .en)
        #expect(Language.preferred(byAcceptLanguage: "*") == .en)
        #expect(Language.chosen(setting: nil, cookie: nil, acceptLanguage: "de") == .en)
        #expect(Language.chosen(setting: nil, cookie: "fr", acceptLanguage: "en") == .fr)
        #expect(Language.chosen(setting: .en, cookie: "fr", acceptLanguage: "fr") == .en)
        #expect(Language.chosen(setting: nil, cookie: "xx", acceptLanguage: "fr-FR") == .fr)
        #expect(Language.fr.isSingular(0) && Language.fr.isSingular(1) && !Language.fr.isSingular(2))
        #expect(!Language.en.isSingular(0) && Language.en.isSingular(1))
        #expect(Language.fr.integer(1_234_567) == "1\u{202F}234\u{202F}567" && Language.en.integer(1_234) == "1,234")
        #expect(Language.fr.date(year: 2026, month: 12, day: 1) == "1er décembre 2026")
        #expect(Language.en.date(year: 2026, month: 11, day: 21) == "21 November 2026")
        #expect(Language.fr.decimal(2.5) == "2,5" && Language.en.decimal(2.5) == "2.5")
    }
}

/// gettext's extraction for `EphemeraError` sentences (see `MessageCatalogueTests`).
enum ErrorSentences {
    static func templates(in source: String) throws -> [String] {
        let starts = try NSRegularExpression(pattern: #"EphemeraError\s*\(\s*\.[a-zA-Z]+\s*,|\.(?:badRequest|unprocessable|conflict)\("#)
        let characters = Array(source)
        var found: [String] = []
        for match in starts.matches(in: source, range: NSRange(source.startIndex..., in: source)) {
            // Character offset just past the match.
            let endIndex = String.Index(utf16Offset: match.range.location + match.range.length, in: source)
            var index = source.distance(from: source.startIndex, to: endIndex)
            // The code (one argument), then the message: the rest up to the call's closing parenthesis.
            guard let afterCode = skipArgument(characters, from: &index), afterCode == "," else { continue }
            var message: [Token] = []
            guard tokens(characters, from: &index, into: &message) else { continue }
            found += templates(of: message)
        }
        return found
    }

    enum Token: Equatable {
        case literal(String, arguments: Int)
        case plus, question, colon, other
    }

    /// Skips one argument; returns the character that ended it (`,` or `)`), with `index` past it.
    static func skipArgument(_ text: [Character], from index: inout Int) -> Character? {
        var depth = 0
        while index < text.count {
            let c = text[index]
            if c == "\"" { _ = literal(text, from: &index); continue }
            index += 1
            switch c {
            case "(", "[", "{": depth += 1
            case ")", "]", "}":
                if depth == 0 { return c }
                depth -= 1
            case "," where depth == 0: return c
            default: break
            }
        }
        return nil
    }

    /// The message argument's top-level tokens, up to the call's `)` or the next argument's `,`.
    static func tokens(_ text: [Character], from index: inout Int, into tokens: inout [Token]) -> Bool {
        var depth = 0
        while index < text.count {
            let c = text[index]
            if c == "\"" {
                let (template, arguments) = literal(text, from: &index)
                tokens.append(depth == 0 ? .literal(template, arguments: arguments) : .other)
                continue
            }
            index += 1
            switch c {
            case "(", "[", "{":
                depth += 1
                tokens.append(.other)
            case ")", "]", "}":
                if depth == 0 { return true }
                depth -= 1
            case "," where depth == 0: return true
            case "+" where depth == 0: tokens.append(.plus)
            case "?" where depth == 0:
                if index < text.count, text[index] == "?" { index += 1; tokens.append(.other) } else { tokens.append(.question) }
            case ":" where depth == 0: tokens.append(.colon)
            case " ", "\n", "\t": break
            default: if depth == 0 { tokens.append(.other) }
            }
        }
        return false
    }

    /// A string literal starting at `index` (a `"`): its text with `{n}` for each interpolation, and their count.
    static func literal(_ text: [Character], from index: inout Int) -> (String, Int) {
        index += 1
        var out = ""
        var arguments = 0
        while index < text.count {
            let c = text[index]
            if c == "\"" { index += 1; break }
            if c == "\\", index + 1 < text.count {
                let next = text[index + 1]
                index += 2
                switch next {
                case "(":
                    // An interpolation: skip its expression (which may hold strings and parentheses).
                    var depth = 1
                    while index < text.count && depth > 0 {
                        let d = text[index]
                        if d == "\"" { _ = literal(text, from: &index); continue }
                        if d == "(" { depth += 1 } else if d == ")" { depth -= 1 }
                        index += 1
                    }
                    out += "{\(arguments)}"
                    arguments += 1
                case "n": out += "\n"
                case "t": out += "\t"
                default: out.append(next)
                }
                continue
            }
            out.append(c)
            index += 1
        }
        return (out, arguments)
    }

    /// The sentences of a message's tokens: literals joined by `+` make one; `?` and `:` separate alternatives.
    static func templates(of tokens: [Token]) -> [String] {
        var result: [String] = []
        var current: (text: String, arguments: Int)?
        var joinable = false
        func finish() {
            if let current { result.append(current.text) }
            current = nil
            joinable = false
        }
        for token in tokens {
            switch token {
            case .literal(let text, let arguments):
                if let sofar = current, joinable {
                    current = (sofar.text + shifted(text, by: sofar.arguments), sofar.arguments + arguments)
                } else {
                    finish()
                    current = (text, arguments)
                }
                joinable = false
            case .plus: joinable = current != nil
            case .question, .colon, .other: finish()
            }
        }
        finish()
        return result
    }

    static func shifted(_ text: String, by offset: Int) -> String {
        guard offset > 0, let regex = try? NSRegularExpression(pattern: #"\{([0-9]+)\}"#) else { return text }
        var out = text
        for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).reversed() {
            guard let whole = Range(match.range, in: out), let number = Range(match.range(at: 1), in: text),
                  let value = Int(text[number]) else { continue }
            out.replaceSubrange(whole, with: "{\(value + offset)}")
        }
        return out
    }
}
