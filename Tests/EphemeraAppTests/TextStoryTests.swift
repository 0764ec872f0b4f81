import EphemeraCore
import EphemeraMedia
import EphemeraTestSupport
import Foundation
import Testing

/// Text stories (issue 20, point 1): text on one of five backgrounds, drawn by the server into a photo segment.
@Suite struct TextStoryTests {
    /// The lowest and highest luma of a picture, as ffmpeg's signalstats measures them.
    static func lumaRange(_ path: String) throws -> (low: Int, high: Int) {
        let output = try ServerProcess.runTool("ffmpeg", [
            "-nostdin", "-v", "info", "-i", path, "-vf", "signalstats,metadata=print:key=lavfi.signalstats.YMIN,"
                + "metadata=print:key=lavfi.signalstats.YMAX", "-f", "null", "-"])
        func value(_ key: String) -> Int? {
            output.split(separator: "\n").first { $0.contains(key + "=") }.flatMap { Int($0.split(separator: "=").last ?? "") }
        }
        guard let low = value("YMIN"), let high = value("YMAX") else { throw TestFailure("no signalstats: \(output)") }
        return (low, high)
    }

    @Test(arguments: Backend.withStores)
    func textIsDrawnOnItsBackgroundIntoAPhotoWhoseAltTextIsTheText(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let text = "Meet me at the pier, 8pm —\nbring a jumper. %{pts} 'quotes' \\\\ stay as typed"
            let posted = try await app.post(alice, file: nil, fields: ["kind": "text", "text": "  \(text)  ", "background": "night",
                                                                       "audience": "public"])
            #expect(posted.status == .created, "\(posted.text)")
            let id = try posted.decode(API.Posted.self).segments[0].id
            try await app.processJobs()
            let segment = try await app.request(.get, "/api/v1/stories/\(id)").decode(API.Segment.self)
            #expect(segment.state == "live" && segment.kind == "photo")
            #expect(segment.width == 1080 && segment.height == 1920)
            #expect(segment.altText == text)
            // White letters on the night sky: the darkest and the brightest parts are far apart.
            let night = try Self.lumaRange(try await app.plaintext(id, .photo))
            #expect(night.low < 40 && night.high > 200, "\(night)")

            // Ink on paper, and the author's own alt text wins.
            let paper = try await app.post(alice, file: nil, fields: ["kind": "text", "text": "Shopping: eggs, flour",
                                                                      "background": "paper", "altText": "A shopping list"])
            let paperID = try paper.decode(API.Posted.self).segments[0].id
            try await app.processJobs()
            #expect(try await app.request(.get, "/api/v1/stories/\(paperID)", token: alice).decode(API.Segment.self).altText
                    == "A shopping list")
            let ink = try Self.lumaRange(try await app.plaintext(paperID, .photo))
            #expect(ink.low < 60 && ink.high > 200, "\(ink)")
        }
    }

    @Test(arguments: Backend.all)
    func textTheFontCannotDrawAndOtherBadInputAreRefusedLeavingNothing(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let photo = try await MediaFixtures.shared.photo()
            let cases: [([String: String], String?, Int, String)] = [
                (["kind": "text", "text": "你好，世界"], nil, 422, "text_not_drawable"),
                (["kind": "text", "text": "Party 🎉"], nil, 422, "text_not_drawable"),
                (["kind": "text", "text": String(repeating: "a", count: 281)], nil, 400, "text_too_long"),
                (["kind": "text", "text": "  "], nil, 400, "text_empty"),
                (["kind": "text", "text": "Hi", "background": "rainbow"], nil, 400, "invalid_background"),
                (["kind": "poll", "text": "Hi"], nil, 400, "invalid_kind"),
                (["kind": "text", "text": "Hi"], photo, 400, "media_with_text_story"),
                // Text drawn over a photo has the same font and the same refusal.
                (["text": "Hello 你好"], photo, 422, "text_not_drawable"),
            ]
            for (fields, file, status, code) in cases {
                let refused = try await app.post(alice, file: file, fields: fields)
                #expect(refused.status.code == status && refused.errorCode == code, "\(fields): \(refused.text)")
            }
            let chinese = try await app.post(alice, file: nil, fields: ["kind": "text", "text": "你好"])
            #expect(chinese.errorMessage?.contains("你 (U+4F60)") == true, "\(chinese.text)")
            // Nothing of the refused posts waits in the incoming folder (where a drawn text story is put first).
            let incoming = app.services.mediaStore.incomingDirectory
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: incoming)) ?? []).isEmpty)
            #expect(FileManager.default.fileExists(atPath: incoming))
            #expect(try await app.request(.get, "/api/v1/users/alice/story", token: alice).decode(API.Story.self).segments.isEmpty)
            // Latin with accents, Greek and Cyrillic are DejaVu's.
            #expect(try await app.post(alice, file: nil, fields: ["kind": "text", "text": "Ça va? Γειά! Привет"]).status == .created)
            try await app.processJobs()
        }
    }

    @Test func theFontsCoverageComesFromItsCmap() throws {
        let bytes = try #require(FileManager.default.contents(atPath: FFmpegMediaProcessor.fontFile))
        let coverage = try #require(GlyphCoverage.parse(font: Array(bytes)))
        #expect(coverage.missing(in: "Hello, Ж Ω é ☺ — “quoted”").isEmpty)
        #expect(coverage.missing(in: "日本 🎉 日").map(\.value) == [0x65E5, 0x672C, 0x1F389])
        // A joiner or a variation selector draws nothing and is never missing.
        #expect(coverage.missing(in: "a\u{200D}b\u{FE0F}").isEmpty)
        #expect(GlyphCoverage.parse(font: Array("not a font at all".utf8)) == nil)
        #expect(GlyphCoverage.parse(font: Array(bytes.prefix(64))) == nil)
    }

    @Test func longerTextIsSetSmallerOnMoreLines() throws {
        let coverage = GlyphCoverage(ranges: [0x20...0x7E])
        let short = try TextStory(text: "Hello there", background: nil, coverage: coverage)
        #expect(short.background == .sunset && short.layout.fontSize == 104 && short.layout.text == "Hello there")
        let long = try TextStory(text: String(repeating: "word ", count: 50), background: "ocean", coverage: coverage)
        #expect(long.layout.fontSize < short.layout.fontSize)
        #expect(long.layout.text.split(separator: "\n").allSatisfy { $0.count <= 26 })
    }
}
