import Foundation

/// Parses the durations of the configuration: a number with an `s`, `m`, `h` or `d` suffix (`90s`, `15m`,
/// `24h`, `30d`); a bare number means seconds. Fractions are allowed (`1.5h`).
public func parseDurationSpec(_ text: String) -> Duration? {
    let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
    guard let last = trimmed.last else { return nil }
    let multiplier: Double
    var number = Substring(trimmed)
    switch last {
    case "s": multiplier = 1; number = number.dropLast()
    case "m": multiplier = 60; number = number.dropLast()
    case "h": multiplier = 3600; number = number.dropLast()
    case "d": multiplier = 86400; number = number.dropLast()
    default: multiplier = 1
    }
    // At most a thousand years, and at least a millisecond: past Int64's milliseconds a conversion would trap
    // (`1e300d` did, found by script/fuzz), and no setting means either.
    guard let value = Double(number), value.isFinite, value > 0 else { return nil }
    let milliseconds = (value * multiplier * 1000).rounded()
    guard milliseconds >= 1, milliseconds <= 1000 * 365.25 * 86400 * 1000 else { return nil }
    return .milliseconds(Int64(milliseconds))
}

/// Parses a byte size: a number with an optional `KB`, `MB`, `GB` (powers of 1000) or `KiB`, `MiB`, `GiB` suffix.
public func parseByteSize(_ text: String) -> Int64? {
    let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
    let units: [(String, Double)] = [
        ("kib", 1024), ("mib", 1024 * 1024), ("gib", 1024 * 1024 * 1024),
        ("kb", 1000), ("mb", 1_000_000), ("gb", 1_000_000_000), ("k", 1000), ("m", 1_000_000), ("g", 1_000_000_000),
        ("b", 1),
    ]
    for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
        let number = trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
        // Up to a petabyte, and at least a byte: past Int64 a conversion would trap.
        guard let value = Double(number), value.isFinite, value * factor >= 1, value * factor <= 1e15 else { return nil }
        return Int64(value * factor)
    }
    guard let value = Int64(trimmed), value > 0 else { return nil }
    return value
}

