import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Folders that hold what no other local user may read: the data directory, the keyring folder and the scratch
/// area (plaintext media). The default scratch area has a predictable name under the world-writable `/dev/shm`,
/// so another user could create it first and read or swap what goes in: a folder that exists is used only when
/// it is a real folder (not a link), owned by this user, and closed to everyone else (0700).
public enum PrivateDirectory {
    public struct Refused: Error, CustomStringConvertible, Equatable {
        public var path: String
        public var reason: String
        public var description: String {
            "\(path) \(reason); it must be a folder of this user (uid \(geteuid())) with mode 0700. Remove it, or "
                + "choose another place (--scratch-dir, --data-dir)."
        }
    }

    /// Creates `path` (its parents as needed) with mode 0700, or checks the folder already there. An existing
    /// folder of ours that is open to others (an older version made them 0755) is closed when `tighten` is set;
    /// one that belongs to someone else is refused.
    public static func ensure(_ path: String, tighten: Bool = false) throws {
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path, !FileManager.default.fileExists(atPath: parent) {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        }
        if mkdir(path, 0o700) == 0 { return try check(path, tighten: false) }
        guard errno == EEXIST else {
            throw Refused(path: path, reason: "cannot be created (\(String(cString: strerror(errno))))")
        }
        try check(path, tighten: tighten)
    }

    static func check(_ path: String, tighten: Bool) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else {
            throw Refused(path: path, reason: "cannot be read (\(String(cString: strerror(errno))))")
        }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw Refused(path: path, reason: "is not a folder (a link or a file)") }
        guard status.st_uid == geteuid() else { throw Refused(path: path, reason: "belongs to another user (uid \(status.st_uid))") }
        guard status.st_mode & 0o077 != 0 else { return }
        guard tighten else {
            throw Refused(path: path, reason: "is open to other users (mode \(String(status.st_mode & 0o777, radix: 8)))")
        }
        guard chmod(path, 0o700) == 0 else {
            throw Refused(path: path, reason: "cannot be made private (\(String(cString: strerror(errno))))")
        }
    }
}
