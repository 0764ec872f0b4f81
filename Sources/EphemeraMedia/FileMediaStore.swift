import EphemeraCore
import Foundation

/// Media blobs on the local disk, under the data directory:
/// - `media/{segmentID}/{rendition}`: the served derivatives;
/// - `incoming/{uploadID}`: uploads waiting to be processed (never served);
/// - `tmp/`: scratch space, emptied at start.
///
/// A blob becomes visible only through `commit`: the file is written next to its final name, fsynced,
/// renamed into place, and the folder fsynced, before the caller commits the row that points to it. An fsync
/// error fails the operation; it is never retried into a false success.
public struct FileMediaStore: Sendable {
    public let root: String

    public init(dataDirectory: String) throws {
        self.root = (dataDirectory as NSString).standardizingPath
        for folder in ["media", "incoming", "tmp"] {
            try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
        }
    }

    public var incomingDirectory: String { root + "/incoming" }
    public var scratchDirectory: String { root + "/tmp" }

    public func incomingPath(_ name: String) -> String { incomingDirectory + "/" + name }

    public func segmentDirectory(_ segmentID: String) -> String { root + "/media/" + segmentID }

    public func path(segmentID: String, rendition: Rendition) -> String {
        segmentDirectory(segmentID) + "/" + rendition.rawValue
    }

    /// A fresh temporary path for `rendition` in the segment's folder (same file system as the final name).
    public func temporaryPath(segmentID: String, rendition: Rendition) throws -> String {
        try FileManager.default.createDirectory(atPath: segmentDirectory(segmentID), withIntermediateDirectories: true)
        return segmentDirectory(segmentID) + "/.tmp-\(UUID().uuidString)-" + rendition.rawValue
    }

    /// Makes the temporary files durable and moves them to their final names.
    public func commit(segmentID: String, files: [Rendition: String]) throws {
        for (rendition, temporary) in files {
            try Self.fsync(path: temporary)
            let final = path(segmentID: segmentID, rendition: rendition)
            guard rename(temporary, final) == 0 else { throw Self.posixError("rename", final) }
        }
        try Self.fsync(path: segmentDirectory(segmentID))
    }

    /// Removes everything stored for a segment. Idempotent.
    public func deleteSegment(_ segmentID: String) throws {
        let folder = segmentDirectory(segmentID)
        if FileManager.default.fileExists(atPath: folder) {
            try FileManager.default.removeItem(atPath: folder)
            try Self.fsync(path: root + "/media")
        }
    }

    /// Removes temporary files a crash may have left in a segment's folder.
    public func removeTemporaryFiles(segmentID: String) {
        let folder = segmentDirectory(segmentID)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(".tmp-") {
            try? FileManager.default.removeItem(atPath: folder + "/" + name)
        }
    }

    /// fsyncs an incoming file and its folder before the row that points to it is committed.
    public func makeDurable(incoming name: String) throws {
        try Self.fsync(path: incomingPath(name))
        try Self.fsync(path: incomingDirectory)
    }

    public func removeIncoming(_ name: String) {
        try? FileManager.default.removeItem(atPath: incomingPath(name))
    }

    /// Empties the scratch area and removes incoming files no upload row refers to (left by a crash between
    /// receiving a file and recording it).
    public func sweepResidue(keepingIncoming keep: Set<String>) {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: scratchDirectory)) ?? [] {
            try? fm.removeItem(atPath: scratchDirectory + "/" + name)
        }
        for name in (try? fm.contentsOfDirectory(atPath: incomingDirectory)) ?? [] where !keep.contains(name) {
            try? fm.removeItem(atPath: incomingPath(name))
        }
    }

    /// The ids of every segment folder on disk.
    public func storedSegmentIDs() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: root + "/media"))?.filter { !$0.hasPrefix(".") } ?? []
    }

    public func size(segmentID: String, rendition: Rendition) -> Int64? {
        (try? FileManager.default.attributesOfItem(atPath: path(segmentID: segmentID, rendition: rendition)))?[.size]
            as? Int64
    }

    static func fsync(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw posixError("open", path) }
        defer { close(fd) }
        guard Foundation.fsync(fd) == 0 else { throw posixError("fsync", path) }
    }

    static func posixError(_ operation: String, _ path: String) -> any Error {
        NSError(domain: NSPOSIXErrorDomain, code: Int(errno),
                userInfo: [NSLocalizedDescriptionKey: "\(operation) \(path): \(String(cString: strerror(errno)))"])
    }
}
