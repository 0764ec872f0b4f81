import Foundation

/// Helper processes (ffmpeg, ffprobe) that a server killed with SIGKILL left running. Nothing stops a child when
/// its parent dies that way: an orphaned ffmpeg would go on, up to its CPU limit, encoding into the scratch area
/// the next server clears at start — CPU taken from the new server, and files appearing after the sweep. The
/// next server on the same scratch area finds them by their arguments (every helper names a path in it) and
/// kills them before it sweeps. Linux: read from /proc; elsewhere nothing is found.
public enum OrphanedHelpers {
    /// The processes of this user, other than this one and its children, whose arguments name a path under
    /// `directory`.
    public static func find(under directory: String) -> [Int32] {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        guard root.count > 1, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        let me = getpid()
        let uid = getuid()
        var found: [Int32] = []
        for entry in entries {
            guard let pid = Int32(entry), pid != me,
                  let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                  field(status, "Uid:")?.split(separator: "\t").first.map(String.init) == String(uid),
                  field(status, "PPid:").flatMap({ Int32($0) }) != me,
                  let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
            let arguments = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            // ffmpeg's paths come as `file:PATH` (ProcessRunner+Media), other helpers' as they are.
            if arguments.dropFirst().contains(where: { $0.hasPrefix(root + "/") || $0.hasPrefix("file:" + root + "/") }) {
                found.append(pid)
            }
        }
        return found.sorted()
    }

    /// Kills what `find` finds (SIGKILL: they are orphans mid-write, nothing to save) and returns their ids.
    @discardableResult
    public static func reap(under directory: String) -> [Int32] {
        let pids = find(under: directory)
        for pid in pids { kill(pid, SIGKILL) }
        return pids
    }

    static func field(_ status: String, _ name: String) -> String? {
        status.split(separator: "\n").first { $0.hasPrefix(name) }
            .map { $0.dropFirst(name.count).trimmingCharacters(in: .whitespaces) }
    }
}
