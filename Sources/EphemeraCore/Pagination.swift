import Foundation

// Pagination cursors and the base64url they travel in: they come back from clients as `?cursor=`, so they are
// parsed here with the other parsers of untrusted input (and fuzzed: `script/fuzz`).

extension Data {
    public var base64URLEncoded: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public init?(base64URLEncoded text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        self.init(base64Encoded: base64)
    }
}

/// An opaque pagination cursor: the sort key of the last item of a page.
public struct PageCursor: Sendable, Hashable {
    public var instant: Int64
    public var id: String

    public init(instant: Int64, id: String) {
        self.instant = instant
        self.id = id
    }

    public var encoded: String { Data("\(instant):\(id)".utf8).base64URLEncoded }

    public init?(encoded: String) {
        guard let data = Data(base64URLEncoded: encoded), let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":"), let instant = Int64(text[..<colon]) else { return nil }
        self.instant = instant
        self.id = String(text[text.index(after: colon)...])
    }
}

/// The cursor of a ranked feed: the instant the ranking was taken at, and the last item's score and id.
public struct RankedCursor: Sendable, Hashable {
    public var asOf: Instant
    public var score: Double
    public var id: String

    public init(asOf: Instant, score: Double, id: String) {
        self.asOf = asOf
        self.score = score
        self.id = id
    }

    /// The score travels as its exact bit pattern, so the next page compares with the very same number.
    public var encoded: String { Data("r:\(asOf.milliseconds):\(score.bitPattern):\(id)".utf8).base64URLEncoded }

    public init?(encoded: String) {
        guard let data = Data(base64URLEncoded: encoded), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "r", let at = Int64(parts[1]), let bits = UInt64(parts[2]) else { return nil }
        asOf = Instant(milliseconds: at)
        score = Double(bitPattern: bits)
        id = String(parts[3])
    }
}

/// A page of items and the cursor of the next page (nil at the end).
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextCursor: String?
    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}
