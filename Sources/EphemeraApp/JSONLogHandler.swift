import EphemeraCore
import Foundation
import Logging
import Synchronization

/// `--log-format json`: one JSON object a line on standard output, for log collectors. Every line has `time`
/// (RFC 3339, milliseconds), `level`, `label` and `message`, then the metadata as fields; a request's line has
/// `requestId`, `method`, `route` (the route template, no ids, never the query), `status` and `durationMs`,
/// the last two as numbers.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public let label: String
    let output: @Sendable (String) -> Void

    public init(label: String, output: @escaping @Sendable (String) -> Void = JSONLogHandler.standardOutput) {
        self.label = label
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        var line = "{\"time\":"
        Self.appendString(Instant(Date()).rfc3339, to: &line)
        line += ",\"level\":"
        Self.appendString(event.level.rawValue, to: &line)
        line += ",\"label\":"
        Self.appendString(label, to: &line)
        line += ",\"message\":"
        Self.appendString(event.message.description, to: &line)
        for key in fields.keys.sorted() where !Self.reservedKeys.contains(key) {
            line += ","
            Self.appendString(key, to: &line)
            line += ":"
            Self.append(fields[key]!, to: &line)
        }
        if event.level >= .warning {
            line += ",\"source\":"
            Self.appendString("\(event.file):\(event.line)", to: &line)
        }
        line += "}\n"
        output(line)
    }

    /// The fields every line has; metadata of the same name is left out.
    static let reservedKeys: Set<String> = ["time", "level", "label", "message"]

    /// Writes whole lines, one at a time, so lines from several threads never interleave.
    public static let standardOutput: @Sendable (String) -> Void = { line in
        writeLock.withLock { _ in
            var copy = line
            copy.withUTF8 { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                    if written > 0 { offset += written } else if written < 0 && errno == EINTR { continue } else { break }
                }
            }
        }
    }
    static let writeLock = Mutex(())

    static func append(_ value: Logger.Metadata.Value, to line: inout String) {
        switch value {
        case .string(let text):
            appendString(text, to: &line)
        case .stringConvertible(let convertible):
            // Numbers stay numbers (a status, a duration); anything else is its description.
            switch convertible {
            case let number as Int: line += String(number)
            case let number as Int64: line += String(number)
            case let number as Double where number.isFinite: line += String(number)
            case let flag as Bool: line += flag ? "true" : "false"
            default: appendString(convertible.description, to: &line)
            }
        case .dictionary(let dictionary):
            line += "{"
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { line += "," }
                appendString(key, to: &line)
                line += ":"
                append(dictionary[key]!, to: &line)
            }
            line += "}"
        case .array(let array):
            line += "["
            for (index, element) in array.enumerated() {
                if index > 0 { line += "," }
                append(element, to: &line)
            }
            line += "]"
        }
    }

    /// `text` as a JSON string: quotes, backslashes and control characters escaped.
    static func appendString(_ text: String, to line: inout String) {
        line += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                line += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: line.unicodeScalars.append(scalar)
            }
        }
        line += "\""
    }
}
