import EphemeraCore
import EphemeraTestSupport
import Foundation
import Testing

@Suite struct ExportTests {
    @Test(arguments: Backend.withStores)
    func exportIsAZipOfMyMediaDecryptedAndTheirMetadata(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            let video = try await app.postLive(alice, file: try await MediaFixtures.shared.video(seconds: 2), fields: ["caption": "sea"])[0]
            app.clock.advance(by: .seconds(1))
            let photo = try await app.postLive(alice, file: try await MediaFixtures.shared.photo())[0]
            _ = try await app.postLive(bob, file: try await MediaFixtures.shared.photo())
            let highlight = try await app.request(.post, "/api/v1/me/highlights", token: alice,
                                                  json: ["title": "Sea", "segmentIds": [video, photo]]).decode(API.Highlight.self)
            _ = try await app.request(.delete, "/api/v1/stories/\(photo)", token: alice)

            let response = try await app.request(.get, "/api/v1/me/export", token: alice)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/zip")
            #expect(response.headers[.contentDisposition]?.contains("attachment") == true)
            let path = app.dataDirectory + "-scratch/export.zip"
            try Data(buffer: response.body).write(to: URL(fileURLWithPath: path))
            let check = try ServerProcess.runTool("python3", ["-c", """
                import json, sys, zipfile
                z = zipfile.ZipFile(sys.argv[1])
                assert z.testzip() is None
                meta = json.loads(z.read("stories.json"))
                print(json.dumps({"names": sorted(z.namelist()), "ids": [s["segment"]["id"] for s in meta["segments"]],
                                  "handle": meta["account"]["handle"], "caption": meta["segments"][0]["segment"].get("caption"),
                                  "highlights": [[h["id"], h["title"]] + h["segmentIds"] for h in meta["highlights"]]}))
                """, path])
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(check.utf8)) as? [String: Any])
            #expect(summary["handle"] as? String == "alice")
            #expect(summary["ids"] as? [String] == [video, photo])
            #expect(summary["caption"] as? String == "sea")
            // My highlights as I made them (a deleted segment stays listed until it is purged).
            #expect(summary["highlights"] as? [[String]] == [[highlight.id, "Sea", video, photo]])
            #expect(summary["names"] as? [String] == [
                "media/\(photo)-photo.jpg", "media/\(video)-poster.jpg", "media/\(video)-video.mp4", "stories.json",
            ].sorted())
            let extractedPath = path + ".video.mp4"
            _ = try ServerProcess.runTool("python3", ["-c",
                "import sys, zipfile; open(sys.argv[3], 'wb').write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))",
                path, "media/\(video)-video.mp4", extractedPath])
            let original = try #require(try await app.services.media.decryptedData(segmentID: video, rendition: .video))
            #expect(try Data(contentsOf: URL(fileURLWithPath: extractedPath)) == original)
            #expect(try await app.request(.get, "/api/v1/me/export").status == .unauthorized)
        }
    }
}
