import EphemeraCore
import EphemeraTestSupport
import Foundation
import Testing

/// `MP4Summary` (what an encode's output says in its `moov` box) agrees with ffprobe on the files the pipeline
/// writes, and steps aside (nil: ffprobe is asked) for a rotated track, a missing index or a broken prefix.
@Suite struct MP4SummaryTests {
    static func prefix(_ path: String, _ length: Int = 1 << 20) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)).prefix(length))
    }

    @Test(arguments: [(2.0, 360, 640), (1.5, 1080, 1920), (3.0, 640, 360)])
    func theIndexSaysWhatFFprobeSays(seconds: Double, width: Int, height: Int) async throws {
        let path = try await MediaFixtures.shared.faststartVideo(seconds: seconds, width: width, height: height)
        let summary = try #require(MP4Summary.read(prefix: try Self.prefix(path)))
        let probe = try await probeJSON(path)
        let format = try #require(probe["format"] as? [String: Any])
        let duration = try #require(Double(format["duration"] as? String ?? ""))
        let video = try #require((probe["streams"] as? [[String: Any]])?.first { $0["codec_type"] as? String == "video" })
        #expect(abs(summary.durationSeconds - duration) < 0.002, "moov says \(summary.durationSeconds), ffprobe \(duration)")
        #expect(summary.width == video["width"] as? Int && summary.height == video["height"] as? Int)
        #expect((summary.width, summary.height) == (width, height))
    }

    @Test func aRotatedTrackAMissingIndexOrABrokenPrefixIsLeftToFFprobe() async throws {
        let rotated = try await MediaFixtures.shared.faststartVideo(rotation: 90)
        #expect(MP4Summary.read(prefix: try Self.prefix(rotated)) == nil)
        let plain = try Self.prefix(try await MediaFixtures.shared.faststartVideo())
        #expect(MP4Summary.read(prefix: Array(plain.prefix(200))) == nil)
        #expect(MP4Summary.read(prefix: []) == nil)
        // An index at the end of a file longer than what is read: not found.
        let moovAtEnd = try await MediaFixtures.shared.truncatedMP4()
        #expect(MP4Summary.read(prefix: try Self.prefix(moovAtEnd)) == nil)
        // Boxes that claim more than there is, or a size of 1 with no room for the large size.
        #expect(MP4Summary.read(prefix: [0, 0, 0, 200] + Array("moov".utf8) + [UInt8](repeating: 0, count: 16)) == nil)
        #expect(MP4Summary.read(prefix: [0, 0, 0, 1] + Array("moov".utf8) + [0, 0]) == nil)
        var random = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let noise = (0..<Int.random(in: 0..<512, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = MP4Summary.read(prefix: noise)  // never traps
        }
    }
}
