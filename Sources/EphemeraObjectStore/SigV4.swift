import Crypto
import EphemeraCore
import Foundation

/// AWS Signature Version 4 for S3 (header-signed requests and presigned URLs), written from AWS's
/// specification and checked against the examples AWS publishes for S3 (`SigV4Tests`).
public struct SigV4: Sendable {
    public struct Credentials: Sendable, Hashable {
        public var accessKeyID: String
        public var secretAccessKey: String

        public init(accessKeyID: String, secretAccessKey: String) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
        }
    }

    /// What a signature covers: the method, the path as sent (already percent-encoded), the query items, the
    /// headers to sign (with `host`) and the SHA-256 of the body in hex.
    public struct Request: Sendable {
        public var method: String
        public var encodedPath: String
        public var query: [(String, String)]
        public var headers: [(String, String)]
        public var payloadHash: String

        public init(method: String, encodedPath: String, query: [(String, String)] = [], headers: [(String, String)],
                    payloadHash: String) {
            self.method = method
            self.encodedPath = encodedPath
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    public static let emptyPayloadHash = hex(SHA256.hash(data: Data()))
    public static let algorithm = "AWS4-HMAC-SHA256"

    public let credentials: Credentials
    public let region: String
    public let service: String

    public init(credentials: Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// `20130524T000000Z` and `20130524` for an instant.
    /// Computed from the Unix time (every signed request needs one; a `Calendar` and two `String(format:)` calls
    /// were most of a signature's cost).
    public static func stamps(_ date: Date) -> (dateTime: String, day: String) {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let (days, secondOfDay) = (seconds.floorDivided(by: 86400), seconds - seconds.floorDivided(by: 86400) * 86400)
        // Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil, inverted).
        let z = days + 719_468
        let era = z.floorDivided(by: 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let dayOfMonth = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func digits(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let day = digits(year, 4) + digits(month, 2) + digits(dayOfMonth, 2)
        let time = digits(secondOfDay / 3600, 2) + digits(secondOfDay % 3600 / 60, 2) + digits(secondOfDay % 60, 2)
        return (day + "T" + time + "Z", day)
    }

    /// The `Authorization` header for `request`, whose headers must already hold `host`, `x-amz-date` and
    /// `x-amz-content-sha256` (every header given is signed).
    public func authorization(for request: Request, at date: Date) -> String {
        let (dateTime, day) = Self.stamps(date)
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(request.headers)
        let canonical = [request.method, request.encodedPath, Self.canonicalQuery(request.query), canonicalHeaders,
                         signedHeaders, request.payloadHash].joined(separator: "\n")
        let signature = sign(canonicalRequest: canonical, dateTime: dateTime, day: day, scope: scope)
        return "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope),SignedHeaders=\(signedHeaders),Signature=\(signature)"
    }

    /// The query items of a presigned request for `method` on `encodedPath` at `host`, valid `expires` seconds
    /// from `date` (only `host` is signed; the payload is `UNSIGNED-PAYLOAD`, as for every presigned URL).
    public func presignedQuery(method: String, host: String, encodedPath: String, query: [(String, String)] = [],
                               expires: Int, at date: Date) -> [(String, String)] {
        let (dateTime, day) = Self.stamps(date)
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        var items = query + [
            ("X-Amz-Algorithm", Self.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"),
            ("X-Amz-Date", dateTime),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-SignedHeaders", "host"),
        ]
        let canonical = [method, encodedPath, Self.canonicalQuery(items), "host:\(host)\n", "host", "UNSIGNED-PAYLOAD"]
            .joined(separator: "\n")
        items.append(("X-Amz-Signature", sign(canonicalRequest: canonical, dateTime: dateTime, day: day, scope: scope)))
        return items
    }

    func sign(canonicalRequest: String, dateTime: String, day: String, scope: String) -> String {
        let stringToSign = [Self.algorithm, dateTime, scope, Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8)))]
            .joined(separator: "\n")
        var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
    }

    /// Lower-cased names, trimmed values with inner runs of spaces folded, sorted by name.
    static func canonicalHeaders(_ headers: [(String, String)]) -> (String, String) {
        let sorted = headers.map { (name: $0.0.lowercased(), value: fold($0.1)) }.sorted { $0.name < $1.name }
        return (sorted.map { "\($0.name):\($0.value)\n" }.joined(), sorted.map(\.name).joined(separator: ";"))
    }

    static func fold(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            .trimmingCharacters(in: .whitespaces)
    }

    /// Items encoded and sorted by name then value, `name=value` joined by `&` (`name=` for an empty value).
    public static func canonicalQuery(_ items: [(String, String)]) -> String {
        let encoded: [(name: String, value: String)] = items.map { (encode($0.0), encode($0.1)) }
        let sorted = encoded.sorted { (a, b) -> Bool in a.name == b.name ? a.value < b.value : a.name < b.name }
        return sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
    }

    /// Items encoded in the order given, for a URL (a presigned URL ends with its signature).
    public static func queryString(_ items: [(String, String)]) -> String {
        items.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&")
    }

    /// RFC 3986 percent-encoding as SigV4 wants it: everything but `A-Z a-z 0-9 - _ . ~` (and `/` when
    /// encoding a path) as upper-case `%XX` of its UTF-8 bytes.
    public static func encode(_ text: String, keepingSlashes: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            if unreserved.contains(byte) || (keepingSlashes && byte == slash) {
                out.unicodeScalars.append(UnicodeScalar(byte))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static let slash = UInt8(ascii: "/")
    static let unreserved: Set<UInt8> = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~".utf8))

    /// The SHA-256 of a payload in lower-case hex, as `x-amz-content-sha256` carries it.
    public static func sha256Hex(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    public static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        Hex.encode(digest)
    }
}

extension Int64 {
    /// Division rounding toward negative infinity (dates before 1970 stay right).
    func floorDivided(by divisor: Int64) -> Int64 {
        let (quotient, remainder) = quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? quotient - 1 : quotient
    }
}
