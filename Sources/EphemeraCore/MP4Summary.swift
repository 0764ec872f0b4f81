/// What the start of an MP4 we wrote ourselves says of it (`+faststart`: the `moov` box before the media):
/// the movie's duration (`mvhd`) and its video track's size (`tkhd` of the track whose handler is `vide`).
/// Reading it saves an ffprobe run (a process start and every codec library loaded, about 70 ms) after each
/// encode; anything unexpected — no `moov` in the prefix, a rotated track, a box that does not fit — is nil,
/// and the caller asks ffprobe as before.
public struct MP4Summary: Sendable, Hashable {
    public var durationSeconds: Double
    public var width: Int
    public var height: Int

    public init(durationSeconds: Double, width: Int, height: Int) {
        self.durationSeconds = durationSeconds
        self.width = width
        self.height = height
    }

    /// The summary of the file whose first bytes are `prefix`, or nil.
    public static func read(prefix bytes: [UInt8]) -> MP4Summary? {
        guard let moov = boxes(in: bytes, from: 0, to: bytes.count).first(where: { $0.type == "moov" }) else { return nil }
        var duration: Double?
        var size: (Int, Int)?
        for box in boxes(in: bytes, from: moov.body, to: moov.end) {
            if box.type == "mvhd" {
                duration = movieDuration(bytes, box)
            } else if box.type == "trak", size == nil, let found = videoSize(bytes, box) {
                size = found
            }
        }
        guard let duration, duration > 0, let (width, height) = size, width > 0, height > 0 else { return nil }
        return MP4Summary(durationSeconds: duration, width: width, height: height)
    }

    struct Box {
        var type: String
        /// Where its contents start and where it ends (exclusive), within the bytes read.
        var body: Int
        var end: Int
    }

    /// The boxes between `start` and `end`; stops at the first that does not fit.
    static func boxes(in bytes: [UInt8], from start: Int, to end: Int) -> [Box] {
        var found: [Box] = []
        var offset = start
        while offset + 8 <= end {
            var size = Int(integer(bytes, at: offset, width: 4))
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            var header = 8
            if size == 1 {
                guard offset + 16 <= end else { break }
                let large = integer(bytes, at: offset + 8, width: 8)
                guard large <= UInt64(Int.max) else { break }
                size = Int(large)
                header = 16
            } else if size == 0 {
                size = end - offset
            }
            guard size >= header, offset + size <= end else { break }
            found.append(Box(type: type, body: offset + header, end: offset + size))
            offset += size
        }
        return found
    }

    static func integer(_ bytes: [UInt8], at offset: Int, width: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in offset..<(offset + width) { value = value << 8 | UInt64(bytes[index]) }
        return value
    }

    /// `mvhd`: duration ÷ timescale (version 0: 32-bit times, version 1: 64-bit).
    static func movieDuration(_ bytes: [UInt8], _ box: Box) -> Double? {
        guard box.body < box.end else { return nil }
        let version = bytes[box.body]
        let (timescaleAt, durationAt, durationWidth) = version == 1 ? (20, 24, 8) : (12, 16, 4)
        guard box.body + durationAt + durationWidth <= box.end else { return nil }
        let timescale = integer(bytes, at: box.body + timescaleAt, width: 4)
        let duration = integer(bytes, at: box.body + durationAt, width: durationWidth)
        guard timescale > 0, duration != UInt64.max, duration != UInt64(UInt32.max) else { return nil }
        return Double(duration) / Double(timescale)
    }

    /// A video track's width and height from its `tkhd` (16.16 fixed point), when its matrix is the identity.
    static func videoSize(_ bytes: [UInt8], _ trak: Box) -> (Int, Int)? {
        let children = boxes(in: bytes, from: trak.body, to: trak.end)
        guard let media = children.first(where: { $0.type == "mdia" }),
              let handler = boxes(in: bytes, from: media.body, to: media.end).first(where: { $0.type == "hdlr" }),
              handler.body + 12 <= handler.end,
              String(decoding: bytes[(handler.body + 8)..<(handler.body + 12)], as: UTF8.self) == "vide",
              let header = children.first(where: { $0.type == "tkhd" }), header.body < header.end else { return nil }
        let version = bytes[header.body]
        // After version/flags: times, track id, reserved, duration, reserved (8), layer, group, volume, reserved.
        let matrixAt = header.body + (version == 1 ? 52 : 40)
        let sizeAt = matrixAt + 36
        guard sizeAt + 8 <= header.end else { return nil }
        let identity: [UInt64] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000]
        for (index, expected) in identity.enumerated()
        where integer(bytes, at: matrixAt + 4 * index, width: 4) != expected {
            return nil
        }
        let width = Int(integer(bytes, at: sizeAt, width: 4) >> 16)
        let height = Int(integer(bytes, at: sizeAt + 4, width: 4) >> 16)
        return (width, height)
    }
}
