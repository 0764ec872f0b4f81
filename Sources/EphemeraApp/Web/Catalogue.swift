import EphemeraCore
import Foundation

/// One language's words (issue 20, API.md "Languages"): `Web/Catalogues/{language}.json`, compiled into the
/// binary. `web` holds every string of the pages, of app.js and of the page-building Swift, by key (the same
/// keys in every language; `{name}` where a value goes; `KEY_one`/`KEY_other` for counts); `errors` holds
/// the API's error sentences by their English template (`Phrase`), and is empty in English, whose sentences
/// live beside their rules in the sources. `MessageCatalogueTests` fails when either catalogue misses a key.
struct Catalogue: Sendable {
    let language: Language
    let web: [String: String]
    let errors: [String: String]

    struct File: Decodable {
        var web: [String: String]
        var errors: [String: String]
    }

    init(language: Language, json: [UInt8]) throws {
        let file = try JSONDecoder().decode(File.self, from: Data(json))
        self.language = language
        self.web = file.web
        self.errors = file.errors
    }

    /// The string of `key` (the key itself if a catalogue lacks it, which the tests forbid).
    subscript(_ key: String) -> String { web[key] ?? key }

    /// The string of `key` with each `{name}` replaced by its value.
    func callAsFunction(_ key: String, _ values: [String: String] = [:]) -> String {
        var text = self[key]
        for (name, value) in values { text = text.replacingOccurrences(of: "{\(name)}", with: value) }
        return text
    }

    /// `KEY_one` or `KEY_other` by the language's plural rule, with `{n}` the count written for the language.
    func count(_ key: String, _ n: Int, _ values: [String: String] = [:]) -> String {
        let form = language.isSingular(Int64(n)) ? "_one" : "_other"
        return self(key + form, values.merging(["n": language.integer(Int64(n))]) { first, _ in first })
    }

    /// An error's sentence in this language.
    func message(_ error: EphemeraError) -> String { error.phrase.rendered(in: language, catalogue: errors) }
}

/// Every language's catalogue.
struct Catalogues: Sendable {
    let all: [Language: Catalogue]

    init() throws {
        all = [
            .en: try Catalogue(language: .en, json: PackageResources.en_json),
            .fr: try Catalogue(language: .fr, json: PackageResources.fr_json),
        ]
    }

    subscript(_ language: Language) -> Catalogue { all[language] ?? all[.en]! }
}
