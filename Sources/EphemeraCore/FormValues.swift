/// A yes/no form field or query parameter: absent or empty is no; `true`/`false`, `1`/`0`, `yes`/`no` and
/// `on`/`off` are understood; anything else is refused naming the field. The one boolean parser of requests.
public func parseFlag(_ text: String?, name: String) throws -> Bool {
    switch text?.lowercased() {
    case nil, "", "false", "0", "no", "off": return false
    case "true", "1", "yes", "on": return true
    default: throw EphemeraError.badRequest("invalid_\(name)", "\(name) must be true or false.")
    }
}

/// What a posting form (`multipart/form-data`) may hold besides its files. The form has about a dozen fields;
/// anything far past that is a client gone wrong or an attack on memory, refused as soon as it is passed
/// rather than when the body ends.
public enum FormLimits {
    /// Parts that are not files.
    public static let maxFields = 40
    /// One field's value.
    public static let maxFieldBytes = 64 * 1024
    /// All fields' values together.
    public static let maxTotalFieldBytes = 256 * 1024

    public static let tooManyFields = EphemeraError(
        .tooLarge, "form_too_large", "The form has more than \(maxFields) fields; send only the story's fields and its file.")
    public static let fieldsTooLarge = EphemeraError(
        .tooLarge, "form_too_large", "The form's fields add up to more than \(maxTotalFieldBytes / 1024) KB; shorten them.")

    public static func fieldTooLarge(_ name: String) -> EphemeraError {
        EphemeraError(.tooLarge, "field_too_large", "The form field '\(name)' is longer than \(maxFieldBytes / 1024) KB.")
    }
}

/// Text people send may not hold U+0000: PostgreSQL cannot store it (SQLite can), so one database would keep
/// what the other refuses with a server error. Refused at the door, the same on both.
public enum NULCharacter {
    public static let refused = EphemeraError.badRequest(
        "invalid_text", "Text may not hold the NUL character (\\u0000); remove it and send again.")

    /// Whether a JSON document escapes a NUL (`\u0000`) in one of its strings (an unescaped one is not JSON).
    public static func isEscaped(inJSON bytes: some Sequence<UInt8>) -> Bool {
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "\\") else { continue }
            guard let escaped = iterator.next() else { return false }
            guard escaped == UInt8(ascii: "u") else { continue }  // \\, \", \n…: one character, skipped whole
            var digits: [UInt8] = []
            while digits.count < 4, let digit = iterator.next() { digits.append(digit) }
            if digits == Array("0000".utf8) { return true }
        }
        return false
    }
}
