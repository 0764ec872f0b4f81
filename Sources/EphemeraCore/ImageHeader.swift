/// Reads the pixel size an image declares in its header, without decoding it: the defence against
/// decompression bombs (a tiny file that declares 30000×30000 px). Understands PNG, JPEG, WebP and GIF.
public enum ImageHeader {
    /// How many leading bytes `dimensions(in:)` needs at most (JPEG's size can follow 64 KiB of EXIF).
    public static let prefixLength = 256 * 1024

    /// The declared (width, height), or nil when `bytes` is not the start of an image this reader knows, or it
    /// declares a side of 0 (JPEG may give its height later, in a DNL marker; script/fuzz found one that said
    /// 700×0): then the probe's dimensions are the check.
    public static func dimensions(in bytes: [UInt8]) -> (width: Int, height: Int)? {
        guard let found = declared(in: bytes), found.width > 0, found.height > 0 else { return nil }
        return found
    }

    static func declared(in bytes: [UInt8]) -> (width: Int, height: Int)? {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), bytes.count >= 24 {
            return (bigEndian(bytes, 16, 4), bigEndian(bytes, 20, 4))
        }
        if bytes.starts(with: [0xFF, 0xD8]) { return jpeg(bytes) }
        if bytes.count >= 30, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) {
            return webp(bytes)
        }
        if bytes.count >= 10, bytes.starts(with: Array("GIF8".utf8)) {
            return (littleEndian(bytes, 6, 2), littleEndian(bytes, 8, 2))
        }
        return nil
    }

    static func jpeg(_ b: [UInt8]) -> (Int, Int)? {
        var i = 2
        while i + 9 < b.count {
            guard b[i] == 0xFF else { return nil }
            let marker = b[i + 1]
            if marker == 0xFF { i += 1; continue }
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }
            let length = bigEndian(b, i + 2, 2)
            // SOF0…SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                return (bigEndian(b, i + 7, 2), bigEndian(b, i + 5, 2))
            }
            guard length >= 2 else { return nil }
            i += 2 + length
        }
        return nil
    }

    static func webp(_ b: [UInt8]) -> (Int, Int)? {
        let chunk = String(decoding: b[12..<16], as: UTF8.self)
        switch chunk {
        case "VP8 ":
            return (littleEndian(b, 26, 2) & 0x3FFF, littleEndian(b, 28, 2) & 0x3FFF)
        case "VP8L":
            let bits = littleEndian(b, 21, 4)
            return ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        case "VP8X":
            return (littleEndian(b, 24, 3) + 1, littleEndian(b, 27, 3) + 1)
        default:
            return nil
        }
    }

    static func bigEndian(_ b: [UInt8], _ at: Int, _ count: Int) -> Int {
        guard at + count <= b.count else { return 0 }
        return b[at..<at + count].reduce(0) { $0 << 8 | Int($1) }
    }

    static func littleEndian(_ b: [UInt8], _ at: Int, _ count: Int) -> Int {
        guard at + count <= b.count else { return 0 }
        return b[at..<at + count].reversed().reduce(0) { $0 << 8 | Int($1) }
    }
}
