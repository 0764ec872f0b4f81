/// A yes/no form field or query parameter: absent or empty is no; `true`/`false`, `1`/`0`, `yes`/`no` and
/// `on`/`off` are understood; anything else is refused naming the field. The one boolean parser of requests.
public func parseFlag(_ text: String?, name: String) throws -> Bool {
    switch text?.lowercased() {
    case nil, "", "false", "0", "no", "off": return false
    case "true", "1", "yes", "on": return true
    default: throw EphemeraError.badRequest("invalid_\(name)", "\(name) must be true or false.")
    }
}
