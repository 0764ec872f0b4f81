import Foundation

/// Where a helper runs (DESIGN.md, "ffmpeg is an attack surface"): ffmpeg and ffprobe read files strangers sent,
/// and a file can name a URL (an HLS playlist, a `concat:` list, a reference atom). The protocol whitelist is
/// the first wall; this is the second: a network namespace of the helper's own, made by util-linux `unshare`,
/// in which no interface is up — not even loopback — so nothing the file names can be reached, whatever ffmpeg
/// does with it.
public enum NetworkIsolation: Sendable, Hashable {
    /// The helper shares this process's network (pg_dump must reach the database; tar needs none but is ours).
    case shared
    /// Each run is prefixed with these arguments (`unshare --net --` or, for a user without the privilege,
    /// `unshare --user --map-root-user --net --`).
    case namespace([String])

    public struct Unavailable: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// What this machine allows, tried once: a root process makes a network namespace directly; anyone else
    /// through a user namespace of their own, where the kernel allows those. Throws a sentence an operator can
    /// act on when neither works.
    public static func detect() throws -> NetworkIsolation {
        guard let unshare = ["/usr/bin/unshare", "/bin/unshare"].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else {
            throw Unavailable(description: "ffmpeg cannot be given a network of its own: util-linux's unshare is not installed")
        }
        let candidates = getuid() == 0 ? [[unshare, "--net", "--"], [unshare, "--user", "--map-root-user", "--net", "--"]]
            : [[unshare, "--user", "--map-root-user", "--net", "--"]]
        var reasons: [String] = []
        for prefix in candidates {
            let (ok, reason) = Self.tryRun(prefix + ["/bin/true"])
            if ok { return .namespace(prefix) }
            reasons.append(reason)
        }
        throw Unavailable(description: "ffmpeg cannot be given a network namespace of its own here ("
            + reasons.joined(separator: "; ") + "): run as root, allow unprivileged user namespaces "
            + "(sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0), or pass "
            + "--ffmpeg-network shared to rely on ffmpeg's protocol whitelist alone")
    }

    /// The detected isolation, probed once per process.
    public static let detected: Result<NetworkIsolation, Unavailable> = Result { try detect() }
        .mapError { $0 as? Unavailable ?? Unavailable(description: "\($0)") }

    /// Wraps `program arguments` for this isolation.
    public func command(_ program: String, _ arguments: [String]) -> (program: String, arguments: [String]) {
        switch self {
        case .shared: return (program, arguments)
        case .namespace(let prefix): return (prefix[0], Array(prefix.dropFirst()) + [program] + arguments)
        }
    }

    private static func tryRun(_ command: [String]) -> (Bool, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let error = Pipe()
        process.standardError = error
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return (false, "\(command.joined(separator: " ")): \(error)")
        }
        process.waitUntilExit()
        let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return (process.terminationStatus == 0,
                command.dropLast().joined(separator: " ") + ": " + (message.isEmpty ? "exit \(process.terminationStatus)" : message))
    }
}
