/// A sentence for people, kept as its English template and its arguments so it can be said in any language
/// Ephemera speaks: `"The photo is \(size); …"` becomes the template `"The photo is {0}; …"` and the argument
/// `size`. The English template is the key of the other languages' catalogues (gettext's way), so the rules in
/// Core keep their sentences beside them; `MessageCatalogueTests` extracts every template from the sources and
/// fails when a catalogue lacks one.
public struct Phrase: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringInterpolation {
    public enum Argument: Sendable, Hashable {
        case text(String)
        /// Written with the language's digit grouping, except in English, which writes it as it is.
        case integer(Int64)
    }

    /// The English sentence with `{0}`, `{1}`, … where the arguments go.
    public private(set) var template: String
    public private(set) var arguments: [Argument]

    public init(stringLiteral value: String) {
        template = value
        arguments = []
    }

    public init(stringInterpolation: StringInterpolation) {
        template = stringInterpolation.template
        arguments = stringInterpolation.arguments
    }

    /// A sentence made elsewhere (a stored failure, a library's message): translated only when a catalogue
    /// holds exactly it.
    public init(verbatim text: String) {
        template = text
        arguments = []
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var template = ""
        var arguments: [Argument] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            template.reserveCapacity(literalCapacity + 4 * interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) { template += literal }

        public mutating func appendInterpolation<T: BinaryInteger>(_ value: T) {
            template += "{\(arguments.count)}"
            arguments.append(.integer(Int64(clamping: value)))
        }

        public mutating func appendInterpolation<T>(_ value: T) {
            template += "{\(arguments.count)}"
            arguments.append(.text(String(describing: value)))
        }
    }

    /// Two phrases are equal when they say the same in English, however they were built.
    public static func == (left: Phrase, right: Phrase) -> Bool { left.english == right.english }
    public func hash(into hasher: inout Hasher) { hasher.combine(english) }

    /// The English sentence.
    public var english: String { render(template, language: .en) }
    public var description: String { english }

    /// The sentence in `language`, from its catalogue of English templates (the English one when the catalogue
    /// has no entry).
    public func rendered(in language: Language, catalogue: [String: String]) -> String {
        render(language == .en ? template : (catalogue[template] ?? template), language: language)
    }

    private func render(_ pattern: String, language: Language) -> String {
        guard !arguments.isEmpty else { return pattern }
        return Self.replacingPlaceholders(in: pattern) { index in
            guard arguments.indices.contains(index) else { return nil }
            switch arguments[index] {
            case .text(let text): return text
            case .integer(let value): return language == .en ? String(value) : language.integer(value)
            }
        }
    }

    /// Two sentences written as one (`"…" + "…"` across lines): the right one's placeholders move past the left's.
    public static func + (left: Phrase, right: Phrase) -> Phrase {
        var joined = left
        joined.template += Self.shifted(right.template, by: left.arguments.count)
        joined.arguments += right.arguments
        return joined
    }

    static func shifted(_ pattern: String, by offset: Int) -> String {
        guard offset > 0 else { return pattern }
        return replacingPlaceholders(in: pattern) { "{\($0 + offset)}" }
    }

    /// `pattern` with each `{n}` replaced by `replacement(n)`; a placeholder it answers nil for, and any other
    /// brace, stay as they are.
    static func replacingPlaceholders(in pattern: String, _ replacement: (Int) -> String?) -> String {
        var out = ""
        var rest = Substring(pattern)
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            let afterOpen = rest.index(after: open)
            if let close = rest[afterOpen...].firstIndex(of: "}"), let index = Int(rest[afterOpen..<close]),
               let value = replacement(index) {
                out += value
                rest = rest[rest.index(after: close)...]
            } else {
                out.append("{")
                rest = rest[afterOpen...]
            }
        }
        return out + rest
    }
}
