import EphemeraApp
import EphemeraMultipart
import Foundation
import NIOCore
import Testing

/// The upload form's parser: the same parts however the body is cut into reads, large slices for large parts,
/// and a clear refusal of what is not a complete multipart body.
@Suite struct MultipartStreamTests {
    struct Part: Equatable {
        var headers: [String: String]
        var body: [UInt8]
    }

    /// Parses `body` fed in pieces of `cut` bytes; the parts, and how many body events there were.
    static func parse(_ body: [UInt8], boundary: String, cut: Int) throws -> (parts: [Part], events: Int) {
        var parser = MultipartStream(boundary: boundary)
        var parts: [Part] = []
        var events = 0
        var index = 0
        while index < body.count {
            let piece = ByteBuffer(bytes: body[index..<min(index + cut, body.count)])
            try parser.feed(piece) { event in
                switch event {
                case .headers(let headers): parts.append(Part(headers: headers, body: []))
                case .body(let buffer):
                    events += 1
                    parts[parts.count - 1].body += buffer.readableBytesView
                case .partEnd: break
                }
            }
            index += cut
        }
        try parser.finish()
        return (parts, events)
    }

    static func form(boundary: String, media: [UInt8], preamble: String = "", epilogue: String = "") -> [UInt8] {
        var body = Array(preamble.utf8)
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\nHello\r\n\r\nthere".utf8)
        body += Array("\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.mp4\"\r\nContent-Type: video/mp4\r\n\r\n".utf8)
        body += media
        body += Array("\r\n--\(boundary)\r\n\r\n\r\n--\(boundary)--\r\n\(epilogue)".utf8)
        return body
    }

    @Test func everyWayOfCuttingTheBodyGivesTheSameParts() throws {
        let boundary = "----ephemera7MA4YWxkTrZu0gW"
        // Bytes that look like the start of a delimiter, CRs and dashes everywhere.
        var media: [UInt8] = []
        for index in 0..<3000 { media.append(UInt8(truncatingIfNeeded: index * 7)) }
        media += Array("\r\n--\r\n----ephemera7MA4YWxkTrZu0g\r\r\n-".utf8) + [0x0D, 0x0A, 0x2D, 0x2D] + Array(repeating: 0x0D, count: 100)
        let body = Self.form(boundary: boundary, media: media, preamble: "ignored preamble\r\n", epilogue: "ignored epilogue")
        let expected = [
            Part(headers: ["content-disposition": "form-data; name=\"caption\""], body: Array("Hello\r\n\r\nthere".utf8)),
            Part(headers: ["content-disposition": "form-data; name=\"media\"; filename=\"a.mp4\"", "content-type": "video/mp4"],
                 body: media),
            Part(headers: [:], body: []),
        ]
        for cut in [1, 2, 3, 5, 7, 13, 31, 64, 100, 1000, body.count] {
            #expect(try Self.parse(body, boundary: boundary, cut: cut).parts == expected, "cut into \(cut)-byte reads")
        }
    }

    @Test func aLargePartComesInLargeSlices() throws {
        let boundary = "b0undary"
        var generator = SystemRandomNumberGenerator()
        let media = (0..<4_000_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let body = Self.form(boundary: boundary, media: media)
        let (parts, events) = try Self.parse(body, boundary: boundary, cut: 64 * 1024)
        #expect(parts[1].body == media)
        // About one slice per read (multipart-kit made one per CR byte: ~15,000 here).
        #expect(events < 2 * (body.count / (64 * 1024) + 1) + 4, "\(events) slices")
    }

    @Test func whatIsNotACompleteBodyIsRefused() throws {
        let boundary = "xyz"
        let whole = Self.form(boundary: boundary, media: Array("data".utf8))
        // Cut short: no closing delimiter.
        #expect(throws: MultipartStream.Malformed.self) { try Self.parse(Array(whole.prefix(whole.count - 10)), boundary: boundary, cut: 7) }
        // Another boundary than the one announced.
        #expect(throws: MultipartStream.Malformed.self) { try Self.parse(whole, boundary: "abc", cut: 100) }
        // A delimiter followed by something else than a line end or "--".
        #expect(throws: MultipartStream.Malformed.self) {
            try Self.parse(Array("--xyz\r\nA: b\r\n\r\nx\r\n--xyzQ\r\n--xyz--".utf8), boundary: boundary, cut: 3)
        }
        // Headers without end, longer than the limit.
        let endless = Array("--xyz\r\nX-Long: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: MultipartStream.maxHeaderBytes + 10)
        #expect(throws: MultipartStream.Malformed.self) { try Self.parse(endless, boundary: boundary, cut: 4096) }
        // A header line without a colon.
        #expect(throws: MultipartStream.Malformed.self) {
            try Self.parse(Array("--xyz\r\nnonsense\r\n\r\nx\r\n--xyz--".utf8), boundary: boundary, cut: 5)
        }
    }
}
