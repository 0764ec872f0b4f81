import EphemeraApp
import EphemeraProcess
import EphemeraTestSupport
import Foundation
import HTTPTypes
import Logging
import Testing

/// ffmpeg and ffprobe can reach no network (issue 18): they run in a network namespace of their own, so a file
/// that names a URL — here an HLS playlist pointing at a port this test listens on — gets no connection, even
/// were the protocol whitelist to let it through.
@Suite struct FFmpegNetworkTests {
    static func playlist(pointingAt listener: LoopbackListener) throws -> String {
        let path = NSTemporaryDirectory() + "playlist-\(UUID().uuidString).m3u8"
        let text = """
            #EXTM3U
            #EXT-X-VERSION:3
            #EXT-X-TARGETDURATION:4
            #EXTINF:4.0,
            \(listener.url("segment0.ts"))
            #EXTINF:4.0,
            \(listener.url("segment1.ts"))
            #EXT-X-ENDLIST

            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The runner's isolation alone, without the whitelist: ffprobe asked to open the URL itself. Shared, the
    /// listener sees the connection (so the test can fail); isolated, it never does.
    @Test func ffprobeInItsOwnNamespaceCannotConnect() async throws {
        let listener = try LoopbackListener()
        let logger = Logger(label: "test-ffprobe")
        let limits = ProcessRunner.Limits(wallSeconds: 20)
        let arguments = ["-v", "error", "-protocol_whitelist", "file,http,tcp,hls", "-i", listener.url("live.m3u8")]

        _ = try? await ProcessRunner(logger: logger, network: .shared).run("ffprobe", arguments, limits: limits)
        #expect(listener.connections >= 1, "with the network shared, ffprobe does connect: the listener works")
        let before = listener.connections

        let isolation = try NetworkIsolation.detected.get()
        guard case .namespace = isolation else { Issue.record("no namespace detected"); return }
        let isolated = ProcessRunner(logger: logger, network: isolation)
        await #expect(throws: ProcessRunner.Failure.self) {
            try await isolated.run("ffprobe", arguments, limits: limits)
        }
        let playlist = try Self.playlist(pointingAt: listener)
        defer { try? FileManager.default.removeItem(atPath: playlist) }
        _ = try? await isolated.run("ffprobe", ["-v", "error", "-protocol_whitelist", "file,http,tcp,hls", playlist],
                                    limits: limits)
        #expect(listener.connections == before, "nothing reached the listener from the namespace")
        // ffmpeg itself is a real program in there: it runs, and sees no network.
        _ = try await isolated.run("ffmpeg", ["-hide_banner", "-f", "lavfi", "-i", "color=size=16x16:duration=0.1",
                                              "-f", "null", "-"], limits: limits)
    }

    /// Through the API: a playlist posted as a story is refused with the error shape, and the server's ffprobe
    /// and ffmpeg never connect to what it names.
    @Test(arguments: Backend.all)
    func aPlaylistPostedAsAStoryReachesNothing(backend: Backend) async throws {
        let listener = try LoopbackListener()
        let playlist = try Self.playlist(pointingAt: listener)
        defer { try? FileManager.default.removeItem(atPath: playlist) }
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let response = try await app.post(alice, file: playlist, filename: "story.m3u8")
            #expect(response.status == .unsupportedMediaType, "\(response.text)")
            #expect(response.errorCode == "unsupported_media")
            try await app.processJobs()
        }
        #expect(listener.connections == 0)
    }
}
