/// Lower-case hexadecimal, the one encoder for digests and tokens. It runs on every authenticated request (the
/// session token's hash) and every signed object-store request, so it writes the digits directly:
/// `String(format: "%02x")` per byte cost a quarter of the CPU of a view.
public enum Hex {
    static let digits = Array("0123456789abcdef".utf8)

    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var characters: [UInt8] = []
        characters.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            characters.append(digits[Int(byte >> 4)])
            characters.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: characters, as: UTF8.self)
    }
}
