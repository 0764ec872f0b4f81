import EphemeraCore
import EphemeraTestSupport
import Foundation
import Testing

@Suite struct CreativeToolsTests {
    /// A frame as 16×16 planar YUV 4:4:4 (Y, then U, then V), cropped to a band of the height.
    func planes(_ path: String, band: (Double, Double) = (0, 1)) throws -> (y: [UInt8], u: [UInt8], v: [UInt8]) {
        let out = path + ".\(band.0)-\(band.1).yuv"
        _ = try ServerProcess.runTool("ffmpeg", [
            "-v", "error", "-y", "-i", path, "-frames:v", "1",
            "-vf", "crop=iw:ih*\(band.1 - band.0):0:ih*\(band.0),scale=16:16,format=yuv444p", "-f", "rawvideo", out,
        ])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        return (Array(bytes[0..<256]), Array(bytes[256..<512]), Array(bytes[512..<768]))
    }

    func meanDifference(_ a: [UInt8], _ b: [UInt8]) -> Double {
        Double(zip(a, b).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(a.count)
    }

    @Test(arguments: Backend.all)
    func filterTextAndSoundAreBurnedInOnePass(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let clip = try await MediaFixtures.shared.video(seconds: 3, width: 540, height: 960)
            let text = "'; rm -rf / %{pts} \\ ünïcödé — a rather long caption that has to wrap over lines"
            let edited = try await app.postLive(alice, file: clip, fields: ["filter": "mono", "text": text, "textPosition": "top"],
                                                sound: try await MediaFixtures.shared.tone(frequency: 880, seconds: 10))[0]
            let plain = try await app.postLive(alice, file: clip, fields: ["filter": "mono"])[0]
            let editedPath = try await app.plaintext(edited, .video)
            // The video, and the poster (made from its own reading of the source), show the same edits.
            for rendition in [Rendition.video, .poster] {
                let editedFile = rendition == .video ? editedPath : try await app.plaintext(edited, rendition)
                let plainFile = try await app.plaintext(plain, rendition)
                // Mono: no colour left.
                let whole = try planes(editedFile)
                #expect((whole.u + whole.v).allSatisfy { abs(Int($0) - 128) <= 4 }, "\(rendition)")
                // Text at the top, nothing changed at the bottom.
                #expect(meanDifference(try planes(editedFile, band: (0.05, 0.3)).y, try planes(plainFile, band: (0.05, 0.3)).y) > 6)
                #expect(meanDifference(try planes(editedFile, band: (0.6, 0.95)).y, try planes(plainFile, band: (0.6, 0.95)).y) < 3)
            }
            // The sound track is cut to the video's length.
            let probe = try await probeJSON(editedPath)
            let streams = probe["streams"] as? [[String: Any]] ?? []
            let audio = try #require(streams.first { $0["codec_type"] as? String == "audio" })
            #expect(abs((Double(audio["duration"] as? String ?? "") ?? 0) - 3) < 0.2)
            #expect(abs((Double((probe["format"] as? [String: Any])?["duration"] as? String ?? "") ?? 0) - 3) < 0.2)
        }
    }

    @Test(arguments: Backend.all)
    func photosTakeFiltersAndTextButNotSound(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let photo = try await MediaFixtures.shared.photo(width: 800, height: 1000)
            let sepia = try await app.postLive(alice, file: photo, fields: ["filter": "sepia", "text": "hello", "textPosition": "center"])[0]
            let plain = try await app.postLive(alice, file: photo)[0]
            let (a, b) = (try await app.plaintext(sepia, .photo), try await app.plaintext(plain, .photo))
            #expect(meanDifference(try planes(a).u + planes(a).v, try planes(b).u + planes(b).v) > 5)
            let refused = try await app.post(alice, file: photo, sound: try await MediaFixtures.shared.tone(frequency: 440, seconds: 2))
            #expect(refused.status == .badRequest && refused.errorCode == "sound_needs_video")
            let notAudio = try await app.post(alice, file: try await MediaFixtures.shared.video(seconds: 1),
                                              sound: try await MediaFixtures.shared.textRenamedMP4())
            #expect(notAudio.status == .unsupportedMediaType && notAudio.errorCode == "unsupported_sound")
            let long = try await app.post(alice, file: photo, fields: ["text": String(repeating: "x", count: 201)])
            #expect(long.status == .badRequest && long.errorCode == "text_too_long")
        }
    }

    @Test func overlayTextIsWrappedWithoutControlCharacters() {
        #expect(CreativeEdits.wrappedText("one two three four five six", lineLength: 9) == "one two\nthree\nfour five\nsix")
        #expect(CreativeEdits.wrappedText("abcdefghijkl", lineLength: 5) == "abcde\nfghij\nkl")
        #expect(CreativeEdits.wrappedText("tab\there\u{7}", lineLength: 20) == "tabhere")
    }
}
