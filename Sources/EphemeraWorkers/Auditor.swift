import EphemeraCore
import EphemeraMedia
import EphemeraStore
import Foundation

/// `ephemera audit`: scans every store for residue — blobs with no row, rows whose blobs or key are gone,
/// anything left of a purged segment, keys with no segment, uploads with no row, tus spools with no row. An empty answer means clean.
public struct Auditor: Sendable {
    let segments: SQLSegmentStore
    let deletion: SQLDeletionStore
    /// The blobs, wherever they live (disk or bucket).
    let media: any MediaStore
    /// Uploads waiting to be processed (this node's scratch, or the shared inbox).
    let inbox: any UploadInbox
    let keyring: any Keyring
    let resumableUploads: ResumableUploadJanitor

    public init(segments: SQLSegmentStore, deletion: SQLDeletionStore, media: any MediaStore, inbox: any UploadInbox,
                keyring: any Keyring, resumableUploads: ResumableUploadJanitor) {
        self.segments = segments
        self.deletion = deletion
        self.media = media
        self.inbox = inbox
        self.keyring = keyring
        self.resumableUploads = resumableUploads
    }

    /// Every finding, one sentence each.
    public func findings() async throws -> [String] {
        var findings: [String] = []
        let rows = try await segments.allSegmentStates()
        let tombstones = try await deletion.tombstoneIDs()
        let underWay = Set(try await deletion.purgesUnderWay())
        let allKeys = try await keyring.keyIDs()
        let keys = Set(allKeys.filter { UploadSpoolNames.uploadID(ofKey: $0) == nil && UploadInboxNames.name(ofKey: $0) == nil })
        let inboxKeys = Set(allKeys.compactMap(UploadInboxNames.name(ofKey:)))
        let folders = Set(try await media.segmentIDs())

        for id in folders.sorted() {
            if tombstones.contains(id) {
                let names = try await media.renditions(segmentID: id).map(\.rawValue).sorted()
                findings.append("purged segment \(id) still has media blobs: \(names.joined(separator: ", "))")
            } else if rows[id] == nil {
                findings.append("media of \(id) (folder or objects) belong to no segment row")
            }
        }
        for id in keys.sorted() {
            if tombstones.contains(id) {
                findings.append("purged segment \(id) still has a data key")
            } else if rows[id] == nil {
                findings.append("data key \(id) belongs to no segment")
            }
        }
        for (id, state) in rows.sorted(by: { $0.key < $1.key }) {
            if tombstones.contains(id) { findings.append("purged segment \(id) still has its segment row") }
            let stored = folders.contains(id) ? Set(try await media.renditions(segmentID: id).map(\.rawValue)) : []
            if state.state.hasMedia {
                let expected = Set(Rendition.renditions(of: state.kind).map(\.rawValue))
                let missing = expected.subtracting(stored)
                if !missing.isEmpty {
                    findings.append("segment \(id) (\(state.state.rawValue)) is missing \(missing.sorted().joined(separator: ", "))")
                }
                if !keys.contains(id) { findings.append("segment \(id) (\(state.state.rawValue)) has no data key") }
                continue
            }
            switch state.state {
            case .failed, .purged:
                if !stored.isEmpty { findings.append("segment \(id) (\(state.state.rawValue)) still has media blobs") }
                if keys.contains(id) { findings.append("segment \(id) (\(state.state.rawValue)) still has a data key") }
            case .processing:
                // Its key was made with the segment; its blobs come when processing stores them.
                if !keys.contains(id) { findings.append("segment \(id) (processing) has no data key") }
            case .purging:
                if !underWay.contains(id) { findings.append("segment \(id) is purging but no purge is under way") }
            case .live, .expired, .archived, .deleted, .removed:
                break
            }
        }
        for id in try await deletion.leftoversOfPurged() {
            findings.append("purged segment \(id) still has rows that refer to it")
        }
        let uploads = try await segments.uploadSourceFiles()
        let incoming = Set(try await inbox.incomingNames())
        for name in incoming.sorted() where !uploads.contains(UploadInboxNames.upload(ofIncoming: name)) {
            findings.append("upload file \(name) has no upload row (unless it is being received right now)")
        }
        for name in uploads.sorted() where !incoming.contains(name) {
            findings.append("upload \(name) has lost its file (its segments will fail)")
        }
        for name in inboxKeys.subtracting(incoming).sorted() {
            findings.append("the key of incoming file \(name) outlived its file")
        }
        findings += try await resumableUploads.findings(keyIDs: allKeys)
        return findings
    }

    /// A key is made just before the row that names it commits, so a crash in between leaves a key of no
    /// segment. Removes the keys made before `instant` (older than any post still in flight) that no segment
    /// and no resumable upload names; returns their ids.
    public func removeStrayKeys(madeBefore instant: Instant) async throws -> [String] {
        let pending = try await segments.uploadSourceFiles()
        let named = Set(try await segments.allSegmentStates().keys)
            .union(try await resumableUploads.uploads.allIDs().map(UploadSpoolNames.keyID))
            .union(pending.flatMap { [UploadInboxNames.keyID($0), UploadInboxNames.keyID(UploadInboxNames.sound($0))] })
        var removed: [String] = []
        for id in try await keyring.keyIDs(createdBefore: instant) where !named.contains(id) {
            try await keyring.destroyKey(for: id)
            removed.append(id)
        }
        return removed
    }

    /// Incoming files of no upload row whose key is gone (a crash between storing a file and committing its row,
    /// after `removeStrayKeys`): removed, with whatever is left of them.
    public func removeStrayIncoming() async throws -> [String] {
        let pending = try await segments.uploadSourceFiles()
        let keys = Set(try await keyring.keyIDs())
        var removed: [String] = []
        for name in try await inbox.incomingNames()
        where !pending.contains(UploadInboxNames.upload(ofIncoming: name)) && !keys.contains(UploadInboxNames.keyID(name)) {
            try await inbox.removeIncoming(name)
            removed.append(name)
        }
        return removed
    }
}
