/// What a node of a cluster runs (`--role`): everything, the HTTP side only, or the background work only.
public enum NodeRole: String, Sendable, Hashable, CaseIterable {
    /// HTTP, the job worker and the expiry sweeper (the default; a single node is this).
    case all
    /// HTTP only: requests are served, jobs are queued for a worker elsewhere.
    case web
    /// The job worker and the expiry sweeper; its HTTP side answers only `/healthz` and `/readyz`.
    case worker

    public var servesRequests: Bool { self != .worker }
    public var runsJobs: Bool { self != .web }
}

/// One block of addresses, `10.0.0.0/8` or `::1/128` (a bare address is a block of one).
public struct AddressBlock: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]
    public let prefixLength: Int

    /// Parses `ADDRESS[/BITS]`; nil when it is not an IPv4 or IPv6 block.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let bytes = IPAddress.bytes(String(parts[0])) else { return nil }
        let bits = bytes.count * 8
        if parts.count == 2 {
            guard let prefix = Int(parts[1]), (0...bits).contains(prefix), parts[1].allSatisfy(\.isASCII) else { return nil }
            prefixLength = prefix
        } else {
            prefixLength = bits
        }
        self.bytes = bytes
    }

    /// Whether `address` (already parsed) lies in the block. An IPv4-mapped IPv6 address matches IPv4 blocks.
    public func contains(_ address: [UInt8]) -> Bool {
        let address = IPAddress.unmapped(address)
        guard address.count == bytes.count else { return false }
        var remaining = prefixLength
        for index in bytes.indices where remaining > 0 {
            let take = min(8, remaining)
            let mask: UInt8 = take == 8 ? 0xFF : ~(0xFF >> UInt8(take))
            if address[index] & mask != bytes[index] & mask { return false }
            remaining -= take
        }
        return true
    }

    public var description: String { "\(IPAddress.text(bytes))/\(prefixLength)" }
}

/// IP address text ⇄ bytes, without the network stack (Core has no I/O).
public enum IPAddress {
    /// 4 bytes for IPv4, 16 for IPv6; nil for anything else (names, ports, zones are not addresses).
    public static func bytes(_ text: String) -> [UInt8]? {
        if text.contains(":") { return ipv6(text) }
        return ipv4(Substring(text))
    }

    static func ipv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = UInt8(part), !(part.count > 1 && part.hasPrefix("0")) else { return nil }
            out.append(value)
        }
        return out
    }

    static func ipv6(_ text: String) -> [UInt8]? {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        var tail: [UInt8] = []
        // A dotted IPv4 tail (::ffff:1.2.3.4) counts as the last two groups.
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = ipv4(text[text.index(after: lastColon)...]) else { return nil }
            tail = v4
            text = text[...lastColon]
            if text.hasSuffix(":") && !text.hasSuffix("::") { text = text.dropLast() }
        }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt8]? {
            if part.isEmpty { return [] }
            var out: [UInt8] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.count), group.allSatisfy(\.isHexDigit), let value = UInt16(group, radix: 16)
                else { return nil }
                out += [UInt8(value >> 8), UInt8(value & 0xFF)]
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 {
            let all = head + tail
            return all.count == 16 ? all : nil
        }
        guard let rest = groups(halves[1]) else { return nil }
        let known = head.count + rest.count + tail.count
        guard known <= 14 else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - known) + rest + tail
    }

    /// `::ffff:a.b.c.d` as the IPv4 address it carries; anything else unchanged.
    public static func unmapped(_ bytes: [UInt8]) -> [UInt8] {
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return Array(bytes[12...])
        }
        return bytes
    }

    /// The conventional text of an address (IPv6 without the shortest-zero-run compression: unambiguous).
    public static func text(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: bytes.count, by: 2)
            .map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }
}

/// The proxies whose `X-Forwarded-For` is believed (`--trusted-proxies`), and the rule that finds the client.
public struct TrustedProxies: Sendable, Hashable {
    public let blocks: [AddressBlock]

    public init(_ blocks: [AddressBlock]) { self.blocks = blocks }

    /// The entries of a `--trusted-proxies` value that are not address blocks.
    public struct Unparsable: Error, Sendable, Hashable { public var entries: [String] }

    /// Parses `CIDR,CIDR…`; the entries that are not address blocks, for the error message.
    public static func parse(_ text: String) -> Result<TrustedProxies, Unparsable> {
        var blocks: [AddressBlock] = []
        var bad: [String] = []
        for entry in headerListItems(text) {
            if let block = AddressBlock(entry) { blocks.append(block) } else { bad.append(entry) }
        }
        return bad.isEmpty ? .success(TrustedProxies(blocks)) : .failure(Unparsable(entries: bad))
    }

    public func trusts(_ address: String) -> Bool { blocks.containsAddress(address) }

    /// The address rate limits count against: the peer itself unless the peer is a trusted proxy; then the
    /// rightmost `X-Forwarded-For` entry that is not a trusted proxy (entries left of it were written by the
    /// client and can be forged). Every field of every header is read, in order. A malformed entry stops the
    /// walk at the last trusted hop (never believing text that is not an address).
    public func clientAddress(peer: String?, forwardedFor headers: [String]) -> String? {
        guard let peer, trusts(peer) else { return peer }
        let hops = headers.flatMap(headerListItems)
        var client = peer
        for hop in hops.reversed() {
            guard let bytes = IPAddress.bytes(hop) else { break }
            client = IPAddress.text(IPAddress.unmapped(bytes))
            if !blocks.contains(where: { $0.contains(bytes) }) { break }
        }
        return client
    }
}

/// The items of a comma-separated header (or flag) value, trimmed, empty ones dropped. Split on Unicode scalars,
/// not Characters: a comma that a prepended or combining mark joins into one grapheme cluster still separates
/// (a client could otherwise merge its forged `X-Forwarded-For` entry with the one its proxy appends).
public func headerListItems(_ text: String) -> [String] {
    text.unicodeScalars.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

extension Array where Element == AddressBlock {
    /// Whether `address` (text) lies in one of the blocks; nil or unparsable text lies in none.
    public func containsAddress(_ address: String?) -> Bool {
        guard let address, let bytes = IPAddress.bytes(address) else { return false }
        return contains { $0.contains(bytes) }
    }
}
