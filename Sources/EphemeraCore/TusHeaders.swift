import Foundation

/// The tus headers whose values carry structure.
public enum TusHeaders {
    /// `Upload-Metadata`: comma-separated `key base64(value)` pairs (a key may come without a value).
    public static func metadata(_ header: String) throws -> [String: String] {
        var fields: [String: String] = [:]
        for pair in header.split(separator: ",") {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
            guard let key = parts.first.map(String.init), !key.isEmpty else { continue }
            if parts.count == 1 { fields[key] = ""; continue }
            guard let data = Data(base64Encoded: String(parts[1])), let value = String(data: data, encoding: .utf8) else {
                throw EphemeraError.badRequest("invalid_upload_metadata",
                    "Upload-Metadata must be 'key base64value' pairs separated by commas; '\(key)' is not base64 text.")
            }
            fields[key] = value
        }
        return fields
    }

    /// `Upload-Offset` (and `Upload-Length`): a non-negative decimal number of bytes, nothing else.
    public static func byteCount(_ header: String?) -> Int64? {
        guard let header, !header.isEmpty, header.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(header)
    }
}
