import Foundation

/// The tus headers whose values carry structure.
public enum TusHeaders {
    /// `Upload-Metadata`: comma-separated `key base64(value)` pairs (a key may come without a value).
    public static func metadata(_ header: String) throws -> [String: String] {
        var fields: [String: String] = [:]
        // Split on Unicode scalars, not Characters (`headerListItems`): a comma or a space that a prepended or
        // combining mark joins into one grapheme cluster is still a separator, so no key can hold one (found by
        // `script/fuzz`).
        func text(_ scalars: Substring.UnicodeScalarView) -> String { String(scalars) }
        for pair in headerListItems(header) {
            let parts = pair.unicodeScalars.split(separator: " ", maxSplits: 1)
            guard let key = parts.first.map(text), !key.isEmpty else { continue }
            if parts.count == 1 { fields[key] = ""; continue }
            guard let data = Data(base64Encoded: text(parts[1])), let value = String(data: data, encoding: .utf8) else {
                throw EphemeraError.badRequest("invalid_upload_metadata",
                    "Upload-Metadata must be 'key base64value' pairs separated by commas; '\(key)' is not base64 text.")
            }
            fields[key] = value
        }
        return fields
    }

    /// The algorithms `Upload-Checksum` may name (the tus checksum extension).
    public enum ChecksumAlgorithm: String, Sendable, CaseIterable {
        case sha1, sha256

        /// The digest's length in bytes.
        public var digestLength: Int { self == .sha1 ? 20 : 32 }
    }

    /// `Upload-Checksum`: `<algorithm> <base64 digest>`, the digest as long as the algorithm's.
    public static func checksum(_ header: String) throws -> (algorithm: ChecksumAlgorithm, digest: [UInt8]) {
        let parts = header.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2, let digest = Data(base64Encoded: parts[1]) else {
            throw EphemeraError.badRequest("invalid_checksum", "Upload-Checksum must be '<algorithm> <base64 digest>'.")
        }
        guard let algorithm = ChecksumAlgorithm(rawValue: parts[0].lowercased()) else {
            throw EphemeraError.badRequest("checksum_algorithm_unsupported",
                "Upload-Checksum algorithm '\(parts[0].prefix(40))' is not supported; use sha1 or sha256.")
        }
        guard digest.count == algorithm.digestLength else {
            throw EphemeraError.badRequest("invalid_checksum",
                "An Upload-Checksum \(algorithm.rawValue) digest is \(algorithm.digestLength) bytes; this one is \(digest.count).")
        }
        return (algorithm, [UInt8](digest))
    }

    /// `Upload-Offset` (and `Upload-Length`): a non-negative decimal number of bytes, nothing else.
    public static func byteCount(_ header: String?) -> Int64? {
        guard let header, !header.isEmpty, header.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(header)
    }
}
