import EphemeraCore
import EphemeraMedia
import EphemeraStore
import Foundation

/// Removes what tus uploads leave: expired uploads (their row, spool and key), spools of uploads that finished
/// (normally removed at once; a crash in between leaves one), and every upload of a deleted account.
public struct ResumableUploadJanitor: Sendable {
    public let uploads: SQLResumableUploadStore
    public let spool: any UploadSpool

    public init(uploads: SQLResumableUploadStore, spool: any UploadSpool) {
        self.uploads = uploads
        self.spool = spool
    }

    /// One pass; returns how many uploads it removed.
    @discardableResult
    public func sweep(now: Instant) async throws -> Int {
        var removed = 0
        while true {
            let due = try await uploads.expired(now: now, limit: 500)
            if due.isEmpty { break }
            for id in due {
                try await spool.remove(id)
                try await uploads.delete(id: id)
                removed += 1
            }
        }
        let spools = try await spool.spoolIDs()
        for id in try await uploads.finishedIDs() where spools.contains(id) {
            try await spool.remove(id)
        }
        return removed
    }

    /// Every upload of an account that is being deleted.
    public func removeAll(ownerID: String) async throws {
        for id in try await uploads.ids(ownerID: ownerID) {
            try await spool.remove(id)
            try await uploads.delete(id: id)
        }
    }

    /// Audit findings: spools or upload keys with no row.
    public func findings(keyIDs: [String]) async throws -> [String] {
        let rows = try await uploads.allIDs()
        var findings: [String] = []
        for id in try await spool.spoolIDs().sorted() where !rows.contains(id) {
            findings.append("upload spool \(id) has no upload row")
        }
        for key in keyIDs.sorted() {
            if let id = UploadSpoolNames.uploadID(ofKey: key), !rows.contains(id) {
                findings.append("upload key \(id) has no upload row")
            }
        }
        return findings
    }
}
