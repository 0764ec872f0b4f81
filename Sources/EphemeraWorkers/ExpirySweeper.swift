import EphemeraCore
import EphemeraMedia
import EphemeraStore
import Logging
import ServiceLifecycle

/// Tidies expired segments: `live` past `expiresAt` becomes `archived` when the author keeps an archive, or
/// is purged. Visibility never waits for it; it compares `expiresAt` with the clock on every read.
public struct ExpirySweeper: Service {
    let segments: SQLSegmentStore
    let mediaStore: FileMediaStore
    let clock: any EphemeraClock
    let logger: Logger
    let interval: Duration

    public init(segments: SQLSegmentStore, mediaStore: FileMediaStore, clock: any EphemeraClock, logger: Logger,
                interval: Duration = .seconds(30)) {
        self.segments = segments
        self.mediaStore = mediaStore
        self.clock = clock
        self.logger = logger
        self.interval = interval
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await sweep()
            } catch {
                logger.error("Expiry sweep failed: \(error)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass; returns how many segments it moved.
    @discardableResult
    public func sweep() async throws -> Int {
        let now = clock.now()
        var moved = 0
        while true {
            let due = try await segments.dueForExpiry(now: now, limit: 200)
            if due.isEmpty { break }
            for (id, archive) in due {
                guard try await segments.transition(id: id, event: .expire, now: now) else { continue }
                if archive {
                    try await segments.transition(id: id, event: .archive, now: now)
                } else {
                    try await purge(id)
                }
                moved += 1
            }
        }
        // Finish purges a crash interrupted.
        for id in try await segments.segmentIDs(in: .purging, limit: 200) { try await purge(id) }
        if moved > 0 { logger.info("Expired \(moved) segments") }
        return moved
    }

    /// Purges an expired segment the author does not archive: its media and its views go; the row stays as
    /// a `purged` tombstone. Each step is idempotent.
    func purge(_ id: String) async throws {
        try await segments.transition(id: id, event: .beginPurge, now: clock.now())
        try mediaStore.deleteSegment(id)
        try await segments.deleteInteractions(segmentID: id)
        try await segments.transition(id: id, event: .finishPurge, now: clock.now()) { _, _ in
            "caption = NULL, media_tag = NULL"
        }
    }
}
