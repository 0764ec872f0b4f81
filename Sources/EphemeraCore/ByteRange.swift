/// The `Range` request header (RFC 9110), as media reads take it: a rule on untrusted input, kept here with the
/// other parsers of what arrives from the network (and fuzzed: `script/fuzz`).
public enum ByteRange {
    /// One byte range of `bytes=a-b`, `bytes=a-` or `bytes=-n` (the unit in any case, spaces around the range
    /// allowed), clamped to the file; nil when unsatisfiable or malformed. Several ranges are answered with the
    /// first one. Read as bytes: every ranged media request parses it (twice), and splitting Strings was 5% of a
    /// 64 KiB ciphertext request's time.
    public static func parse(_ header: String, size: Int64) -> ClosedRange<Int64>? {
        guard size > 0 else { return nil }
        var header = header
        return header.withUTF8 { bytes -> ClosedRange<Int64>? in
            let unit = "bytes=".utf8
            guard bytes.count > unit.count,
                  zip(bytes, unit).allSatisfy({ byte, expected in byte | 0x20 == expected | 0x20 }) else { return nil }
            var low = unit.count
            var high = bytes[low...].firstIndex(of: UInt8(ascii: ",")) ?? bytes.count
            func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
            while low < high, isSpace(bytes[low]) { low += 1 }
            while high > low, isSpace(bytes[high - 1]) { high -= 1 }
            guard let dash = bytes[low..<high].firstIndex(of: UInt8(ascii: "-")) else { return nil }
            /// Decimal digits only, at most 18 (no sign, no overflow); nil otherwise, and for none.
            func number(_ digits: Slice<UnsafeBufferPointer<UInt8>>) -> Int64? {
                guard !digits.isEmpty, digits.count <= 18 else { return nil }
                var value: Int64 = 0
                for byte in digits {
                    guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                    value = value * 10 + Int64(byte - UInt8(ascii: "0"))
                }
                return value
            }
            let first = bytes[low..<dash], last = bytes[(dash + 1)..<high]
            if first.isEmpty {
                guard let suffix = number(last), suffix > 0 else { return nil }
                return max(0, size - suffix)...(size - 1)
            }
            guard let start = number(first), start < size else { return nil }
            if last.isEmpty { return start...(size - 1) }
            guard let end = number(last), end >= start else { return nil }
            return start...min(end, size - 1)
        }
    }
}
