import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// A streaming `multipart/form-data` parser (RFC 7578 / RFC 2046 §5.1) that finds each delimiter with one
/// `memmem` over whatever has arrived, and hands a part's body over in the largest slices it can: a 40 MB video
/// is a few hundred slices, not a slice per CR byte as with multipart-kit (about a second per 40 MB here).
/// Nothing is buffered beyond a delimiter's length between calls, except a part's headers (at most
/// `maxHeaderBytes`).
public struct MultipartStream: Sendable {
    public enum Event {
        /// A part begins; its header lines, names lower-cased.
        case headers([String: String])
        /// The next piece of the current part's body.
        case body(ByteBuffer)
        /// The current part ended.
        case partEnd
    }

    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
    }

    public enum State: Sendable {
        /// Before the first delimiter (a preamble is allowed and ignored).
        case preamble
        /// Just after a delimiter: `--` (the end) or CRLF (a part follows), possibly after spaces and tabs.
        case afterDelimiter
        case headers
        case body
        /// After the close delimiter: the epilogue is ignored.
        case end
    }

    public static let maxHeaderBytes = 16 * 1024

    private(set) var state = State.preamble
    private var buffer = ByteBuffer()
    /// `CRLF--boundary`: what ends a part's body.
    private let delimiter: [UInt8]

    public init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
    }

    public var isComplete: Bool {
        if case .end = state { return true }
        return false
    }

    /// Parses what `input` adds, calling `handle` for each event in order.
    public mutating func feed(_ input: ByteBuffer, _ handle: (Event) throws -> Void) throws {
        if case .end = state { return }
        if buffer.readableBytes == 0 {
            buffer = input
        } else {
            var input = input
            buffer.writeBuffer(&input)
        }
        try parse(handle)
        // Keep only what is left unread (at most a delimiter's length, or a part's headers).
        if buffer.readerIndex > 0 && buffer.readableBytes < buffer.readerIndex { buffer.discardReadBytes() }
    }

    /// Throws unless the body ended with the close delimiter.
    public func finish() throws {
        guard isComplete else {
            throw Malformed(description: state == .preamble ? "no part found; is the boundary right?"
                : "the body ended before the closing boundary")
        }
    }

    private mutating func parse(_ handle: (Event) throws -> Void) throws {
        while true {
            switch state {
            case .preamble:
                // The first delimiter may open the body without the CRLF before it.
                let opening = Array(delimiter.dropFirst(2))
                if let index = find(opening, startingAt: 0) {
                    buffer.moveReaderIndex(forwardBy: index + opening.count)
                    state = .afterDelimiter
                } else {
                    // Keep only what could still be the start of the delimiter.
                    buffer.moveReaderIndex(forwardBy: max(0, buffer.readableBytes - opening.count + 1))
                    return
                }
            case .afterDelimiter:
                while let byte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self), byte == 0x20 || byte == 0x09 {
                    buffer.moveReaderIndex(forwardBy: 1)
                }
                guard let pair = buffer.getBytes(at: buffer.readerIndex, length: 2) else { return }
                buffer.moveReaderIndex(forwardBy: 2)
                if pair == [0x2D, 0x2D] {
                    state = .end
                    buffer.clear()
                    return
                }
                guard pair == [0x0D, 0x0A] else { throw Malformed(description: "a boundary line is not followed by a line end") }
                state = .headers
            case .headers:
                // A part with no header lines begins at once with the blank line.
                if buffer.getBytes(at: buffer.readerIndex, length: 2) == [0x0D, 0x0A] {
                    buffer.moveReaderIndex(forwardBy: 2)
                    try handle(.headers([:]))
                    state = .body
                    continue
                }
                guard let end = find([0x0D, 0x0A, 0x0D, 0x0A], startingAt: 0) else {
                    if buffer.readableBytes > Self.maxHeaderBytes {
                        throw Malformed(description: "a part's headers are longer than \(Self.maxHeaderBytes / 1024) KiB")
                    }
                    return
                }
                guard end <= Self.maxHeaderBytes, let text = buffer.readString(length: end) else {
                    throw Malformed(description: "a part's headers are longer than \(Self.maxHeaderBytes / 1024) KiB")
                }
                buffer.moveReaderIndex(forwardBy: 4)
                try handle(.headers(try Self.headers(text)))
                state = .body
            case .body:
                if let index = find(delimiter, startingAt: 0) {
                    if index > 0, let piece = buffer.readSlice(length: index) { try handle(.body(piece)) }
                    buffer.moveReaderIndex(forwardBy: delimiter.count)
                    try handle(.partEnd)
                    state = .afterDelimiter
                } else {
                    // All but what could be the beginning of a delimiter split across two reads.
                    let safe = buffer.readableBytes - (delimiter.count - 1)
                    if safe > 0, let piece = buffer.readSlice(length: safe) { try handle(.body(piece)) }
                    return
                }
            case .end:
                buffer.clear()
                return
            }
        }
    }

    /// The offset of `needle` in the unread bytes, at or after `start`: `memchr` to each place its first byte
    /// occurs, `memcmp` there (glibc's `memmem` is not exported to Swift).
    private func find(_ needle: [UInt8], startingAt start: Int) -> Int? {
        buffer.withUnsafeReadableBytes { bytes -> Int? in
            guard bytes.count - start >= needle.count, let base = bytes.baseAddress else { return nil }
            return needle.withUnsafeBytes { pattern -> Int? in
                let first = Int32(needle[0])
                var offset = start
                let last = bytes.count - needle.count
                while offset <= last {
                    guard let hit = memchr(base + offset, first, last - offset + 1) else { return nil }
                    let index = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + index, pattern.baseAddress!, needle.count) == 0 { return index }
                    offset = index + 1
                }
                return nil
            }
        }
    }

    /// `Name: value` lines (no folding: RFC 7578 forbids it).
    static func headers(_ text: String) throws -> [String: String] {
        var headers: [String: String] = [:]
        for line in text.split(separator: "\r\n" as Character, omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else {
                throw Malformed(description: "a part's header line has no ':'")
            }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            guard !name.isEmpty else { throw Malformed(description: "a part's header line has no name") }
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return headers
    }
}
