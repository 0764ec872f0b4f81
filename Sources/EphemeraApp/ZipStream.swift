import Foundation
import NIOCore

/// Writes a zip archive as it goes (stored entries, sizes and CRC in data descriptors), so an export of
/// many videos streams to the client without being built in memory or on disk.
/// Limits: no ZIP64, so one archive stays under 4 GiB.
struct ZipStream {
    private struct Entry {
        var name: [UInt8]
        var crc: UInt32
        var size: UInt32
        var offset: UInt32
    }

    private var entries: [Entry] = []
    private var offset: UInt32 = 0
    private var current: (name: [UInt8], crc: UInt32, size: UInt32, offset: UInt32)?
    /// 1980-01-01 00:00 in DOS format; the archive's content does not depend on the clock.
    private let dosTime: UInt16 = 0
    private let dosDate: UInt16 = 0x21

    /// The bytes that open an entry named `name`.
    mutating func begin(_ name: String) -> ByteBuffer {
        let nameBytes = Array(name.utf8)
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(0x0403_4B50), endianness: .little)
        buffer.writeInteger(UInt16(20), endianness: .little)      // version needed
        buffer.writeInteger(UInt16(0x0808), endianness: .little)  // data descriptor + UTF-8 names
        buffer.writeInteger(UInt16(0), endianness: .little)       // stored
        buffer.writeInteger(dosTime, endianness: .little)
        buffer.writeInteger(dosDate, endianness: .little)
        buffer.writeInteger(UInt32(0), endianness: .little)       // crc, sizes: in the descriptor
        buffer.writeInteger(UInt32(0), endianness: .little)
        buffer.writeInteger(UInt32(0), endianness: .little)
        buffer.writeInteger(UInt16(nameBytes.count), endianness: .little)
        buffer.writeInteger(UInt16(0), endianness: .little)
        buffer.writeBytes(nameBytes)
        current = (nameBytes, 0, 0, offset)
        offset &+= UInt32(buffer.readableBytes)
        return buffer
    }

    /// Passes entry data through, keeping its CRC and size.
    mutating func data(_ bytes: Data) -> ByteBuffer {
        if var entry = current {
            entry.crc = CRC32.update(entry.crc, bytes)
            entry.size &+= UInt32(bytes.count)
            current = entry
        }
        offset &+= UInt32(bytes.count)
        return ByteBuffer(bytes: bytes)
    }

    /// The bytes that close the current entry.
    mutating func end() -> ByteBuffer {
        guard let entry = current else { return ByteBuffer() }
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(0x0807_4B50), endianness: .little)
        buffer.writeInteger(entry.crc, endianness: .little)
        buffer.writeInteger(entry.size, endianness: .little)
        buffer.writeInteger(entry.size, endianness: .little)
        entries.append(Entry(name: entry.name, crc: entry.crc, size: entry.size, offset: entry.offset))
        current = nil
        offset &+= UInt32(buffer.readableBytes)
        return buffer
    }

    /// The central directory that closes the archive.
    mutating func finish() -> ByteBuffer {
        var buffer = ByteBuffer()
        let start = offset
        for entry in entries {
            buffer.writeInteger(UInt32(0x0201_4B50), endianness: .little)
            buffer.writeInteger(UInt16(20), endianness: .little)
            buffer.writeInteger(UInt16(20), endianness: .little)
            buffer.writeInteger(UInt16(0x0808), endianness: .little)
            buffer.writeInteger(UInt16(0), endianness: .little)
            buffer.writeInteger(dosTime, endianness: .little)
            buffer.writeInteger(dosDate, endianness: .little)
            buffer.writeInteger(entry.crc, endianness: .little)
            buffer.writeInteger(entry.size, endianness: .little)
            buffer.writeInteger(entry.size, endianness: .little)
            buffer.writeInteger(UInt16(entry.name.count), endianness: .little)
            buffer.writeInteger(UInt16(0), endianness: .little)  // extra
            buffer.writeInteger(UInt16(0), endianness: .little)  // comment
            buffer.writeInteger(UInt16(0), endianness: .little)  // disk
            buffer.writeInteger(UInt16(0), endianness: .little)  // internal attributes
            buffer.writeInteger(UInt32(0), endianness: .little)  // external attributes
            buffer.writeInteger(entry.offset, endianness: .little)
            buffer.writeBytes(entry.name)
        }
        let size = UInt32(buffer.readableBytes)
        buffer.writeInteger(UInt32(0x0605_4B50), endianness: .little)
        buffer.writeInteger(UInt16(0), endianness: .little)
        buffer.writeInteger(UInt16(0), endianness: .little)
        buffer.writeInteger(UInt16(entries.count), endianness: .little)
        buffer.writeInteger(UInt16(entries.count), endianness: .little)
        buffer.writeInteger(size, endianness: .little)
        buffer.writeInteger(start, endianness: .little)
        buffer.writeInteger(UInt16(0), endianness: .little)
        return buffer
    }
}

/// CRC-32 (IEEE 802.3), as zip wants it.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func update(_ crc: UInt32, _ data: Data) -> UInt32 {
        var c = ~crc
        data.withUnsafeBytes { bytes in
            for byte in bytes { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }
}
