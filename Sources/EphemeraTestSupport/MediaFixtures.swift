import Foundation
import Subprocess

/// Media made by ffmpeg at test time (nothing binary is committed), cached per test process.
public actor MediaFixtures {
    public static let shared = MediaFixtures()

    private let directory: String
    /// One creation per fixture; concurrent tests asking for the same one wait for the same ffmpeg run.
    private var made: [String: Task<String, any Error>] = [:]

    init() {
        directory = NSTemporaryDirectory() + "ephemera-fixtures-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// A test-pattern video with a tone; `metadata` is written into the container (to check it is stripped).
    public func video(seconds: Double = 3, width: Int = 640, height: Int = 360, audio: Bool = true,
                      codec: String = "libx264", container: String = "mp4", metadata: [String: String] = [:])
        async throws -> String
    {
        let key = "video-\(seconds)-\(width)x\(height)-\(audio)-\(codec)-\(metadata.sorted { $0.key < $1.key })"
        return try await make(key, ext: container) { out in
            var args = ["-f", "lavfi", "-i", "testsrc2=size=\(width)x\(height):rate=25"]
            if audio { args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"] }
            args += ["-t", String(seconds), "-c:v", codec]
            if codec == "libx264" { args += ["-preset", "ultrafast", "-pix_fmt", "yuv420p"] }
            if audio { args += ["-c:a", container == "webm" ? "libopus" : "aac"] }
            for (key, value) in metadata { args += ["-metadata", "\(key)=\(value)"] }
            return args + [out]
        }
    }

    /// A video as the server's encode writes one (H.264 + AAC, `+faststart`, the index first); `rotation` sets
    /// the track's display rotation (a copied phone video keeps one).
    public func faststartVideo(seconds: Double = 2, width: Int = 360, height: Int = 640, rotation: Int = 0)
        async throws -> String
    {
        let encoded = try await make("faststart-\(seconds)-\(width)x\(height)", ext: "mp4") { out in
            ["-f", "lavfi", "-i", "testsrc2=size=\(width)x\(height):rate=30",
             "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", String(seconds),
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
             "-movflags", "+faststart", out]
        }
        guard rotation != 0 else { return encoded }
        // ffmpeg 5 writes a rotation only when it copies the picture.
        return try await make("faststart-\(seconds)-\(width)x\(height)-\(rotation)", ext: "mp4") { out in
            ["-i", encoded, "-c", "copy", "-metadata:s:v:0", "rotate=\(rotation)", "-movflags", "+faststart", out]
        }
    }

    /// A still test pattern as `png`, `jpg` or `webp`.
    public func photo(format: String = "jpg", width: Int = 800, height: Int = 600) async throws -> String {
        try await make("photo-\(width)x\(height)-\(format)", ext: format) { out in
            ["-f", "lavfi", "-i", "testsrc2=size=\(width)x\(height)", "-frames:v", "1", out]
        }
    }

    /// A 400×200 JPEG whose EXIF says "rotate 90° clockwise" (orientation 6) and carries an image
    /// description with `secret` in it, as a phone photo carries its place.
    public func jpegWithEXIF(secret: String) async throws -> String {
        let plain = try await make("exif-base", ext: "jpg") { out in
            ["-f", "lavfi", "-i", "testsrc2=size=400x200", "-frames:v", "1", out]
        }
        var jpeg = [UInt8](try Data(contentsOf: URL(fileURLWithPath: plain)))
        let text = Array(secret.utf8) + [0]
        // Little-endian TIFF: IFD0 with Orientation (0x0112) = 6 and ImageDescription (0x010E) → text after the IFD.
        var tiff: [UInt8] = [0x49, 0x49, 0x2A, 0x00] + littleEndian(8, 4) + littleEndian(2, 2)
        tiff += littleEndian(0x0112, 2) + littleEndian(3, 2) + littleEndian(1, 4) + littleEndian(6, 2) + [0, 0]
        tiff += littleEndian(0x010E, 2) + littleEndian(2, 2) + littleEndian(text.count, 4) + littleEndian(8 + 2 + 24 + 4, 4)
        tiff += littleEndian(0, 4) + text
        let app1 = Array("Exif".utf8) + [0, 0] + tiff
        let segment: [UInt8] = [0xFF, 0xE1, UInt8((app1.count + 2) >> 8), UInt8((app1.count + 2) & 0xFF)] + app1
        jpeg.insert(contentsOf: segment, at: 2)
        let path = directory + "/exif-\(UUID().uuidString).jpg"
        try Data(jpeg).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A tone of `frequency` Hz lasting `seconds`, as M4A: a sound track to add to a video.
    public func tone(frequency: Int, seconds: Double) async throws -> String {
        try await make("tone-\(frequency)-\(seconds)", ext: "m4a") { out in
            ["-f", "lavfi", "-i", "sine=frequency=\(frequency):sample_rate=48000", "-t", String(seconds), "-c:a", "aac", out]
        }
    }

    /// WebM written as a live stream, with no duration in its header: what browsers' MediaRecorder produces.
    public func recordedWebM(seconds: Double = 2) async throws -> String {
        try await make("recorded-\(seconds)", ext: "webm") { out in
            ["-f", "lavfi", "-i", "testsrc2=size=480x640:rate=30", "-f", "lavfi", "-i", "sine=frequency=330",
             "-t", String(seconds), "-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libopus", "-live", "1",
             "-f", "webm", out]
        }
    }

    /// Sound with no picture.
    public func audioOnly() async throws -> String {
        try await make("audio", ext: "m4a") { out in
            ["-f", "lavfi", "-i", "sine=frequency=440", "-t", "2", "-c:a", "aac", out]
        }
    }

    /// Plain text with a video's name.
    public func textRenamedMP4() throws -> String {
        let path = directory + "/notes.mp4"
        // Atomically: tests running at once each write it, and one must never read it half-written (empty).
        try Data("These are my notes, not a video.\n".utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        return path
    }

    /// The first third of an MP4 whose index (moov) is at the end: unreadable.
    public func truncatedMP4() async throws -> String {
        let whole = try await video(seconds: 4)
        let data = try Data(contentsOf: URL(fileURLWithPath: whole))
        let path = directory + "/truncated.mp4"
        try data.prefix(data.count / 3).write(to: URL(fileURLWithPath: path), options: .atomic)  // see textRenamedMP4
        return path
    }

    /// A tiny PNG whose header declares 30000×30000 px: a decompression bomb.
    public func decompressionBombPNG() throws -> String {
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
        }
        let ihdr = bigEndian(30000) + bigEndian(30000) + [8, 2, 0, 0, 0]
        let idat: [UInt8] = [0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + chunk("IHDR", ihdr) + chunk("IDAT", idat) + chunk("IEND", [])
        let path = directory + "/bomb.png"
        try Data(png).write(to: URL(fileURLWithPath: path), options: .atomic)  // see textRenamedMP4
        return path
    }

    private func make(_ key: String, ext: String, _ arguments: (String) -> [String]) async throws -> String {
        if let task = made[key] { return try await task.value }
        let path = directory + "/\(made.count)-\(UUID().uuidString).\(ext)"
        let args = Arguments(["-v", "error", "-y"] + arguments(path))
        let task = Task<String, any Error> {
            let result = try await Subprocess.run(
                .name("ffmpeg"), arguments: args, output: .discarded, error: .string(limit: 64 * 1024))
            guard result.terminationStatus.isSuccess else {
                throw FixtureError(message: "ffmpeg could not make \(key): \(result.standardError)")
            }
            return path
        }
        made[key] = task
        return try await task.value
    }

    struct FixtureError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

private func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
}

private func littleEndian(_ value: Int, _ count: Int) -> [UInt8] {
    (0..<count).map { UInt8((value >> (8 * $0)) & 0xFF) }
}

private func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
    }
    return crc ^ 0xFFFF_FFFF
}

/// ffprobe's view of a file, for checking what the server produced.
public func probeJSON(_ path: String) async throws -> [String: Any] {
    let result = try await Subprocess.run(
        .name("ffprobe"), arguments: ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
        output: .string(limit: 1024 * 1024))
    let text = result.standardOutput
    return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
}
