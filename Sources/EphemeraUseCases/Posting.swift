import EphemeraCore
import EphemeraStore
import Foundation

/// Turning a received file into a post, for multipart posts and completed tus uploads alike: judge it by its
/// declared size, probe and plan it (`MediaRules`), make each segment's data key, then record the upload, its
/// `processing` segments and the processing job in one transaction. Nothing is visible until processing
/// stores the media.
public struct Posting: Sendable {
    let segments: SQLSegmentStore
    let keyring: any Keyring
    let prober: any MediaProber
    let inbox: any UploadInbox
    let transcoder: any Transcoder
    let media: any MediaStore
    let limits: MediaLimits
    let lifetime: Duration
    let maxLifetime: Duration
    let clock: any EphemeraClock
    let limiter: RateLimiter
    let wakeWorkers: @Sendable () -> Void

    public init(segments: SQLSegmentStore, keyring: any Keyring, prober: any MediaProber, inbox: any UploadInbox,
                transcoder: any Transcoder, media: any MediaStore, limits: MediaLimits, lifetime: Duration, maxLifetime: Duration, clock: any EphemeraClock, limiter: RateLimiter,
                wakeWorkers: @escaping @Sendable () -> Void) {
        self.limiter = limiter
        self.segments = segments
        self.keyring = keyring
        self.prober = prober
        self.inbox = inbox
        self.transcoder = transcoder
        self.media = media
        self.limits = limits
        self.lifetime = lifetime
        self.maxLifetime = maxLifetime
        self.clock = clock
        self.wakeWorkers = wakeWorkers
    }

    /// Whether `author` may post now, asked before a byte of the file is read: the posting rate limit (per
    /// account and address) and the cap on their segments still waiting for processing (`MediaRules`).
    public func admit(_ author: Account, address: String?) async throws {
        try await limiter.check(.post, account: author.id, address: address)
        try MediaRules.admitPost(processing: try await segments.processingCount(authorID: author.id))
    }

    /// The demuxer of the sound track received beside upload `uploadID` (`sizeBytes` long), or an error
    /// saying which sound files are accepted.
    public func soundDemuxer(uploadID: String, sizeBytes: Int64) async throws -> String {
        let probe: MediaProbe
        do {
            probe = try await prober.probe(path: inbox.incomingPath(UploadInboxNames.sound(uploadID)))
        } catch is EphemeraError {
            probe = MediaProbe(formatName: "", durationSeconds: nil, streams: [], sizeBytes: sizeBytes)
        }
        return try MediaRules.soundDemuxer(for: probe)
    }

    /// Makes the post of the file received as upload `uploadID` (and its sound track, when `request.creative`
    /// has one). `completing` names the tus upload this post finishes, recorded in the same transaction so it
    /// becomes exactly one post.
    public func post(by author: Account, _ request: PostRequest, uploadID: String, completing resumableID: String? = nil)
        async throws -> [Segment]
    {
        if let overlay = request.creative.text { try transcoder.textCoverage.checkDrawable(overlay, in: "the text on a story") }
        try MediaRules.checkDeclaredImageSize(
            prefix: try await inbox.prefix(ofIncoming: uploadID, length: ImageHeader.prefixLength), limits: limits)
        // Making the file durable (its fsync, or its encrypted copy into the shared inbox) runs while ffprobe reads
        // it and the rules judge it: both are needed before the upload's row commits, and neither waits on the
        // other. A refusal waits for it to end and removes what it kept, so nothing of a refused post stays.
        async let durable: Void = inbox.makeDurable(incoming: uploadID)
        let probe: MediaProbe
        let lifetime: Duration
        let publishAt: Instant?
        let plan: MediaPlan
        do {
            probe = try await prober.probe(path: inbox.incomingPath(uploadID))
            (lifetime, publishAt) = try schedule(of: request)
            plan = try MediaRules.plan(probe, limits: limits, edits: request.edits, creative: request.creative)
            // Room for what it will make (507 storage_full otherwise).
            try StorageRules.admitPost(freeBytes: await inbox.freeBytes(), uploadBytes: probe.sizeBytes)
        } catch {
            try? await durable
            try? await inbox.removeIncoming(uploadID)
            throw error
        }
        let now = clock.now()
        let pieces: Int
        switch plan {
        case .photo: pieces = 1
        case .video(let video): pieces = video.pieces.count
        }
        let made = (0..<pieces).map { position in
            Segment(
                id: IDs.make(), authorID: author.id, kind: plan.kind, state: .processing, audience: request.audience,
                caption: request.caption, createdAt: now,
                expiresAt: Segment.expiry(postedAt: publishAt ?? now, lifetime: lifetime),
                uploadID: uploadID, position: position, altText: request.altText,
                allowComments: request.allowComments, allowDownloads: request.allowDownloads, publishAt: publishAt)
        }
        do {
            try await durable
        } catch {
            try? await inbox.removeIncoming(uploadID)
            throw error
        }
        if request.creative.hasSound {
            do {
                try await inbox.makeDurable(incoming: UploadInboxNames.sound(uploadID))
            } catch {
                try? await inbox.removeIncoming(uploadID)
                throw error
            }
        }
        // Each segment's data key is made now, with the segment and before its row commits: the only place a
        // key is ever made, so nothing can make one again for a segment that is later purged.
        for segment in made { _ = try await keyring.createKey(for: segment.id) }
        do {
            try await segments.createUpload(
                UploadRecord(id: uploadID, authorID: author.id, sourceFile: uploadID, plan: String(decoding: try JSONEncoder().encode(plan), as: UTF8.self),
                             createdAt: now),
                segments: made, completing: resumableID)
        } catch {
            for segment in made { try? await keyring.destroyKey(for: segment.id) }
            try? await inbox.removeIncoming(uploadID)
            try? await inbox.removeIncoming(UploadInboxNames.sound(uploadID))
            throw error
        }
        wakeWorkers()
        return made
    }

    /// Makes the post of a text story (`kind=text`): checks its text against the font, draws it into a PNG as
    /// upload `uploadID`, and posts that as a photo whose alt text is the text (unless the author wrote one).
    /// A refusal or failure leaves nothing behind.
    public func postText(by author: Account, _ request: PostRequest, text: String?, background: String?, uploadID: String)
        async throws -> [Segment]
    {
        let story = try TextStory(text: text, background: background, coverage: transcoder.textCoverage)
        let output = inbox.incomingPath(uploadID)
        var request = request
        request.altText = request.altText ?? story.text
        do {
            try await transcoder.drawTextStory(story, textFile: media.scratchPath("text-story.txt"), output: output)
            return try await post(by: author, request, uploadID: uploadID)
        } catch {
            try? await inbox.removeIncoming(uploadID)
            throw error
        }
    }

    /// The lifetime and the time to go live `request` asks for, checked against this server's limits and
    /// the clock (also when a tus upload is created, before its bytes are sent).
    public func schedule(of request: PostRequest) throws -> (lifetime: Duration, publishAt: Instant?) {
        (try request.lifetime.map { try StorySchedule.lifetime($0, max: maxLifetime) } ?? lifetime,
         try request.publishAt.flatMap { try StorySchedule.checked(publishAt: $0, now: clock.now()) })
    }

    /// The author's edit of their segment (`SegmentEdit`): caption, alt text, audience, comments and downloads.
    /// Anyone else learns nothing (`story_not_found`, as for a segment that does not exist); the author of one
    /// that can no longer be edited learns why.
    public func edit(segmentID: String, by author: Account, _ edit: SegmentEdit) async throws -> Segment {
        guard let segment = try await segments.segment(id: segmentID),
              isReadableByAuthor(segment, viewer: Viewer(accountID: author.id)) else { throw EphemeraError.storyNotFound }
        guard SegmentEdit.isEditable(segment.state),
              let edited = try await segments.edit(id: segment.id, authorID: author.id, edit) else {
            throw SegmentEdit.notEditable
        }
        return edited
    }
}
