import EphemeraCore
import Foundation
import Testing

@Suite struct DurationSpecTests {
    @Test func parsesSuffixes() {
        #expect(parseDurationSpec("24h") == .seconds(86400))
        #expect(parseDurationSpec("30d") == .seconds(30 * 86400))
        #expect(parseDurationSpec("15m") == .seconds(900))
        #expect(parseDurationSpec("90s") == .seconds(90))
        #expect(parseDurationSpec("45") == .seconds(45))
        #expect(parseDurationSpec("1.5h") == .seconds(5400))
        for bad in ["", "h", "-3h", "tomorrow", "0s", "3w"] { #expect(parseDurationSpec(bad) == nil, "\(bad)") }
    }

    @Test func parsesByteSizes() {
        #expect(parseByteSize("200MB") == 200_000_000)
        #expect(parseByteSize("1GiB") == 1_073_741_824)
        #expect(parseByteSize("5000") == 5000)
        #expect(parseByteSize("lots") == nil)
    }

    @Test func formatsRFC3339WithMilliseconds() {
        #expect(Instant(milliseconds: 1_795_273_445_123).rfc3339 == "2026-11-21T15:04:05.123Z")
        #expect(Instant(milliseconds: 0).rfc3339 == "1970-01-01T00:00:00.000Z")
    }
}

@Suite struct MediaRulesTests {
    let limits = MediaLimits()

    func video(_ seconds: Double, codec: String = "h264", width: Int = 1080, height: Int = 1920, audio: String? = "aac",
               format: String = "mov,mp4,m4a,3gp,3g2,mj2") -> MediaProbe {
        var streams = [MediaProbe.Stream(kind: .video, codec: codec, width: width, height: height, pixelFormat: "yuv420p")]
        if let audio { streams.append(.init(kind: .audio, codec: audio)) }
        return MediaProbe(formatName: format, durationSeconds: seconds, streams: streams, sizeBytes: 1_000_000)
    }

    @Test func compliantVideoIsRemuxedNotEncoded() throws {
        guard case .video(let plan) = try MediaRules.plan(video(10), limits: limits, edits: PostEdits()) else {
            Issue.record("not a video"); return
        }
        #expect(plan.canRemux)
        #expect(plan.pieces == [ClipRange(start: 0, end: 10)])
        guard case .video(let hevc) = try MediaRules.plan(video(10, codec: "hevc"), limits: limits, edits: PostEdits()),
              case .video(let trimmed) = try MediaRules.plan(video(10), limits: limits, edits: PostEdits(trimStart: 1)),
              case .video(let big) = try MediaRules.plan(video(10, width: 2160, height: 3840), limits: limits, edits: PostEdits())
        else { Issue.record("not videos"); return }
        #expect(!hevc.canRemux && !trimmed.canRemux && !big.canRemux)
    }

    @Test func tooLongVideoIsRefusedWithItsLength() {
        #expect(throws: EphemeraError.unprocessable("story_too_long",
            "Video is 16.2 s; a story segment may be at most 15 s. Trim it, or post it with split=true to cut it into several segments.")) {
            try MediaRules.plan(video(16.2), limits: limits, edits: PostEdits())
        }
        // Container rounding is not a reason to refuse.
        #expect(throws: Never.self) { try MediaRules.plan(video(15.02), limits: limits, edits: PostEdits()) }
    }

    @Test func splitCutsConsecutivePiecesOfAtMostTheLimit() throws {
        guard case .video(let plan) = try MediaRules.plan(video(40), limits: limits, edits: PostEdits(split: true)) else {
            Issue.record("not a video"); return
        }
        #expect(plan.pieces == [ClipRange(start: 0, end: 15), ClipRange(start: 15, end: 30), ClipRange(start: 30, end: 40)])
        let tail = MediaRules.splitRanges(start: 0, end: 30.4, maxLength: 15)
        #expect(tail.count == 3 && tail.allSatisfy { $0.length <= 15 } && tail.last!.end == 30.4)
        #expect(MediaRules.splitRanges(start: 0, end: 30.02, maxLength: 15).count == 2)
    }

    @Test func trimIsAppliedBeforeTheLengthCheck() throws {
        guard case .video(let plan) = try MediaRules.plan(video(30), limits: limits, edits: PostEdits(trimStart: 5, trimEnd: 17))
        else { Issue.record("not a video"); return }
        #expect(plan.pieces == [ClipRange(start: 5, end: 17)])
        #expect(throws: EphemeraError.self) { try MediaRules.plan(video(10), limits: limits, edits: PostEdits(trimStart: 8, trimEnd: 4)) }
        #expect(throws: EphemeraError.self) { try MediaRules.plan(video(10), limits: limits, edits: PostEdits(trimStart: 12)) }
    }

    @Test func audioOnlyAndUnknownContainersAreUnsupported() {
        let audio = MediaProbe(formatName: "mov,mp4,m4a", durationSeconds: 3, streams: [.init(kind: .audio, codec: "aac")], sizeBytes: 10)
        #expect { try MediaRules.plan(audio, limits: limits, edits: PostEdits()) } throws: {
            ($0 as? EphemeraError)?.code == "no_video_stream" && ($0 as? EphemeraError)?.kind == .unsupportedMedia
        }
        #expect { try MediaRules.plan(video(3, format: "avi"), limits: limits, edits: PostEdits()) } throws: {
            ($0 as? EphemeraError)?.code == "unsupported_media"
        }
        #expect { try MediaRules.plan(video(3, format: "hls"), limits: limits, edits: PostEdits()) } throws: {
            ($0 as? EphemeraError)?.code == "unsupported_media"
        }
    }

    @Test func photosAreJudgedByTheirDeclaredSize() throws {
        let photo = MediaProbe(formatName: "png_pipe", durationSeconds: nil,
                               streams: [.init(kind: .video, codec: "png", width: 800, height: 600)], sizeBytes: 100)
        #expect(try MediaRules.plan(photo, limits: limits, edits: PostEdits()).kind == .photo)
        var huge = photo
        huge.streams[0].width = 8000
        #expect { try MediaRules.plan(huge, limits: limits, edits: PostEdits()) } throws: {
            ($0 as? EphemeraError)?.code == "media_dimensions_too_large"
        }
    }

    @Test func imageHeaderReadsDeclaredDimensionsWithoutDecoding() throws {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8)
        png += [0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30]  // 30000 × 30000
        #expect(ImageHeader.dimensions(in: png)! == (30000, 30000))
        #expect { try MediaRules.checkDeclaredImageSize(prefix: png, limits: limits) } throws: {
            ($0 as? EphemeraError)?.code == "media_dimensions_too_large"
        }
        // JPEG: SOI, an APP0 segment, then SOF0 with height 1000 and width 2000.
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00,
                             0xFF, 0xC0, 0x00, 0x11, 0x08, 0x03, 0xE8, 0x07, 0xD0, 0x03, 0, 0, 0, 0, 0, 0]
        #expect(ImageHeader.dimensions(in: jpeg)! == (2000, 1000))
        #expect(ImageHeader.dimensions(in: Array("hello world, not an image".utf8)) == nil)
    }

    @Test func handlesAndPasswordsFollowTheContract() {
        #expect(throws: Never.self) { try AccountRules.validateHandle("alice_1.b") }
        for bad in ["al", "Alice", "a-b", String(repeating: "a", count: 31), "ali ce"] {
            #expect(throws: EphemeraError.self) { try AccountRules.validateHandle(bad) }
        }
        #expect(throws: EphemeraError.self) { try AccountRules.validatePassword("short") }
        #expect(throws: Never.self) { try AccountRules.validatePassword("long enough") }
    }
}

@Suite struct ShareRulesTests {
    let now = Instant(milliseconds: 1_000_000)

    func segment(_ state: SegmentState, _ audience: Audience) -> Segment {
        Segment(id: "s", authorID: "author", kind: .photo, state: state, audience: audience, caption: nil,
                createdAt: now - .seconds(60), expiresAt: now + .seconds(3600), uploadID: "u")
    }

    @Test func aGoneSegmentAnswers410OnlyToThoseWhoCouldHaveSeenIt() {
        let follower = Relations(viewerFollowsAuthor: true)
        let stranger = Relations.none
        for state in [SegmentState.deleted, .purging] {
            let followersOnly = segment(state, .followers)
            #expect(ShareRules.answer(for: followersOnly, to: Viewer(accountID: "f"), at: now, graph: follower) == .gone(.deleted))
            #expect(ShareRules.answer(for: followersOnly, to: Viewer(accountID: "x"), at: now, graph: stranger) == .notFound)
            #expect(ShareRules.answer(for: followersOnly, to: .signedOut, at: now, graph: .none) == .notFound)
            #expect(ShareRules.answer(for: segment(state, .public), to: .signedOut, at: now, graph: .none) == .gone(.deleted))
            // A block stands between them: as if it never existed.
            #expect(ShareRules.answer(for: segment(state, .public), to: Viewer(accountID: "b"), at: now,
                                      graph: Relations(blocked: true)) == .notFound)
        }
        #expect(ShareRules.answer(for: segment(.removed, .public), to: .signedOut, at: now, graph: .none) == .gone(.removed))
        // Still live but past its expiry, or archived: not shown, and not "gone" either.
        #expect(ShareRules.answer(for: segment(.archived, .public), to: .signedOut, at: now, graph: .none) == .notFound)
        #expect(ShareRules.answer(for: segment(.live, .public), to: .signedOut, at: now + .seconds(7200), graph: .none) == .notFound)
        #expect(ShareRules.answer(for: segment(.live, .public), to: .signedOut, at: now, graph: .none) == .show)
        // After the purge only "was it public" is left.
        #expect(ShareRules.answerForPurged(wasPublic: true) == .gone(.deleted))
        #expect(ShareRules.answerForPurged(wasPublic: false) == .notFound)
    }
}

/// The rules issue 13 moved into Core from the stores, the controllers and the worker.
@Suite struct MovedRulesTests {
    let now = Instant(milliseconds: 2_000_000_000)

    func segment(_ state: SegmentState, expiresIn seconds: Int64 = 3600) -> Segment {
        Segment(id: "s", authorID: "author", kind: .video, state: state, audience: .public, caption: nil,
                createdAt: now - .seconds(60), expiresAt: now + .seconds(seconds), uploadID: "u")
    }

    @Test func aPurgeBeginsOnceAndNeverDuringALegalHold() {
        #expect(DeletionRules.purgeStart(segment(.deleted), holdUntil: nil, at: now) == .purging)
        #expect(DeletionRules.purgeStart(segment(.purging), holdUntil: nil, at: now) == nil)
        #expect(DeletionRules.purgeStart(segment(.removed), holdUntil: now + .seconds(1), at: now) == nil)
        #expect(DeletionRules.purgeStart(segment(.removed), holdUntil: now, at: now) == .purging)
        #expect(DeletionRules.isDueForPurge(Segment(id: "s", authorID: "a", kind: .photo, state: .deleted, audience: .public,
                                                    caption: nil, createdAt: now, expiresAt: now, restorableUntil: now,
                                                    uploadID: "u"), at: now))
    }

    @Test func anExpiredSegmentGoesToTheArchiveOrItsPurge() {
        #expect(Lifecycle.afterExpiry(keepsArchive: true) == .archive)
        #expect(Lifecycle.afterExpiry(keepsArchive: false) == .beginPurge)
        // A segment in a highlight stays on its author's profile: it is kept even without an archive.
        #expect(Lifecycle.afterExpiry(keepsArchive: false, inHighlight: true) == .archive)
        #expect(Lifecycle.next(after: .live, on: .expire, expired: true) == .expired)
        for keeps in [true, false] {
            #expect(Lifecycle.next(after: .expired, on: Lifecycle.afterExpiry(keepsArchive: keeps), expired: true) != nil)
        }
    }

    @Test func highlightsHoldOwnPostedSegmentsUnderATitle() throws {
        func code(_ body: () throws -> Any) -> String? {
            do { _ = try body(); return nil } catch let error as EphemeraError { return error.code } catch { return "\(error)" }
        }
        #expect(try HighlightRules.validatedTitle("  Summer  ") == "Summer")
        #expect(try HighlightRules.validatedTitle(String(repeating: "é", count: 40)).count == 40)
        #expect(code { try HighlightRules.validatedTitle(" \n ") } == "title_empty")
        #expect(code { try HighlightRules.validatedTitle(String(repeating: "a", count: 41)) } == "title_too_long")
        #expect(code { try HighlightRules.validatedTitle("a\u{7}b") } == "invalid_title")
        #expect(code { try HighlightRules.validatedSegmentList([]) } == "highlight_empty")
        #expect(code { try HighlightRules.validatedSegmentList(["a", "b", "a"]) } == "duplicate_segment")
        #expect(code { try HighlightRules.validatedSegmentList((0...100).map(String.init)) } == "too_many_segments")
        #expect(try HighlightRules.validatedSegmentList((0..<100).map(String.init)).count == 100)
        #expect(try HighlightRules.validatedCover(nil, among: ["a"]) == nil)
        #expect(try HighlightRules.validatedCover("a", among: ["b", "a"]) == "a")
        #expect(code { try HighlightRules.validatedCover("c", among: ["a"]) } == "invalid_cover")
        #expect(try HighlightRules.validatedOrder(["b", "a"], current: ["a", "b"]) == ["b", "a"])
        #expect(try HighlightRules.validatedOrder(["c", "a"], current: ["a", "b", "c"]) == ["c", "a", "b"])
        #expect(code { try HighlightRules.validatedOrder(["z"], current: ["a", "b"]) } == "invalid_order")
        #expect(code { try HighlightRules.validatedOrder([], current: ["a", "b"]) } == "invalid_order")
        #expect(code { try HighlightRules.validatedOrder(["a", "a"], current: ["a", "b"]) } == "invalid_order")
        // The chosen cover while the caller can read it, else the first they can.
        #expect(HighlightRules.shownCover(chosen: "b", readable: ["a", "b"]) == "b")
        #expect(HighlightRules.shownCover(chosen: "c", readable: ["a", "b"]) == "a")
        #expect(HighlightRules.shownCover(chosen: nil, readable: []) == nil)

        let now = Instant(milliseconds: 1_000_000)
        for state in SegmentState.allCases {
            let segment = Segment(id: "s", authorID: "a", kind: .photo, state: state, audience: .public, caption: nil,
                                  createdAt: now, expiresAt: now, uploadID: "u")
            #expect(HighlightRules.mayHold(segment, ownerID: "a", at: now) == [.live, .expired, .archived].contains(state))
            #expect(!HighlightRules.mayHold(segment, ownerID: "b", at: now))
        }
        let scheduled = Segment(id: "s", authorID: "a", kind: .photo, state: .live, audience: .public, caption: nil,
                                createdAt: now, expiresAt: now + .seconds(90_000), uploadID: "u", publishAt: now + .seconds(3600))
        #expect(!HighlightRules.mayHold(scheduled, ownerID: "a", at: now))
        #expect(HighlightRules.mayHold(scheduled, ownerID: "a", at: now + .seconds(3600)))
    }

    @Test func reportsAndAppealsFollowTheirRules() throws {
        #expect(throws: EphemeraError.self) { try ModerationRules.checkReport(reporterID: "a", authorID: "a", alreadyOpen: false) }
        #expect(throws: EphemeraError.self) { try ModerationRules.checkReport(reporterID: "b", authorID: "a", alreadyOpen: true) }
        try ModerationRules.checkReport(reporterID: "b", authorID: "a", alreadyOpen: false)
        #expect(throws: EphemeraError.self) { try ModerationRules.checkAppeal(state: .live, alreadyAppealed: false) }
        #expect(throws: EphemeraError.self) { try ModerationRules.checkAppeal(state: .removed, alreadyAppealed: true) }
        try ModerationRules.checkAppeal(state: .removed, alreadyAppealed: false)
        #expect(ModerationRules.authorDeletesRemoved(holdUntil: now + .seconds(5), at: now) == .hideUntil(now + .seconds(5)))
        #expect(ModerationRules.authorDeletesRemoved(holdUntil: nil, at: now) == .purge)
        #expect(ModerationAction.erasedReasonsAtPurge == [.takedown])
    }

    @Test func accountsStartAsMembersUnlessTheOperatorNamedThem() {
        #expect(AccountRules.initialRole(handle: "root", adminHandle: "root") == .admin)
        #expect(AccountRules.initialRole(handle: "alice", adminHandle: "root") == .member)
        #expect(AccountRules.initialRole(handle: "alice", adminHandle: nil) == .member)
    }

    @Test func timesComeFromTheRules() {
        #expect(Segment.expiry(postedAt: now, lifetime: .seconds(86400)) == now + .seconds(86400))
        #expect(profileViewHistoryStart(at: now) == now - .seconds(30 * 86400))
        #expect(DeletionRules.accountRemovalRetry(at: now, lastHoldEnd: nil) == now + .seconds(2))
        #expect(DeletionRules.accountRemovalRetry(at: now, lastHoldEnd: now + .seconds(86400)) == now + .seconds(86400))
    }

    @Test func downloadsGiveTheAuthorTheOriginalAndOthersTheMark() throws {
        let author = Account(id: "author", handle: "alice", displayName: "Alice", role: .member, createdAt: now,
                             settings: AccountSettings())
        var closed = author
        closed.settings.allowDownloads = false
        #expect(try DownloadRules.rendition(of: segment(.live), for: "author", original: true, author: author) == .video)
        #expect(try DownloadRules.rendition(of: segment(.live), for: "bob", original: false, author: author) == .downloadVideo)
        #expect(throws: EphemeraError.self) { try DownloadRules.rendition(of: segment(.live), for: "bob", original: true, author: author) }
        #expect(throws: EphemeraError.self) { try DownloadRules.rendition(of: segment(.live), for: "bob", original: false, author: closed) }
        #expect(try DownloadRules.rendition(of: segment(.live), for: "author", original: false, author: closed) == .downloadVideo)
        #expect(throws: EphemeraError.self) { try DownloadRules.rendition(of: segment(.deleted), for: "author", original: true, author: author) }
        #expect(Rendition.watermark(handle: "alice") == "@alice · Ephemera")
    }
}

@Suite struct HexTests {
    @Test func encodesEveryByteAsTwoLowerCaseDigits() {
        #expect(Hex.encode([UInt8]()) == "")
        #expect(Hex.encode([0x00, 0x0f, 0x10, 0xab, 0xff]) == "000f10abff")
        // Against the formatter it replaced, for every byte value.
        let all = (0...255).map { UInt8($0) }
        #expect(Hex.encode(all) == all.map { String(format: "%02x", $0) }.joined())
    }
}

@Suite struct ReturnPathTests {
    @Test func onlyPathsOnThisSitePass() {
        for path in ["/", "/settings", "/@alice/story?segment=abc&x=1", "/a%2Fb"] {
            #expect(ReturnPath.safe(path) == path, "\(path)")
        }
        for path in [nil, "", "settings", "//evil.example", "/\\evil.example", "/\t/evil.example", "/\n/evil.example",
                     "/ /evil.example", "/\u{7F}/evil.example", "/caf\u{E9}", "https://evil.example", "/x\\y"] {
            #expect(ReturnPath.safe(path) == ReturnPath.home, "\(String(describing: path))")
        }
    }
}

@Suite struct LaneLoadTests {
    @Test func aFreeWorkerMeansNoWait() {
        #expect(LaneLoad(running: 1, waiting: 0, workers: 2, secondsPerItem: 0.3).expectedWaitSeconds == 0)
    }

    @Test func theWaitIsTheTurnsAheadAtTheRecentPace() {
        // Two workers busy, three waiting: the fourth caller waits two turns (callers 1–2, then 3–4).
        let load = LaneLoad(running: 2, waiting: 3, workers: 2, secondsPerItem: 0.25)
        #expect(load.expectedWaitSeconds == 0.5)
        #expect(load.admits(maxWaitSeconds: 0.5))
        #expect(!load.admits(maxWaitSeconds: 0.49))
        // The fifth waits three turns.
        #expect(LaneLoad(running: 2, waiting: 4, workers: 2, secondsPerItem: 0.25).expectedWaitSeconds == 0.75)
    }

    @Test func thePaceFollowsTheLoadButNotOneOutlier() {
        #expect(LaneLoad.pace(previous: 0, observed: 0.3) == 0.3)
        let after = LaneLoad.pace(previous: 0.3, observed: 3)
        #expect(after > 0.3 && after < 1, "one slow hash moves the pace, a little")
        var pace = 0.3
        for _ in 0..<20 { pace = LaneLoad.pace(previous: pace, observed: 0.6) }
        #expect(abs(pace - 0.6) < 0.01, "a lasting change is followed")
    }
}

@Suite struct StorageRulesTests {
    @Test func aPostNeedsRoomForItsRenditionsAndTheReserve() throws {
        let upload: Int64 = 10 << 20
        try StorageRules.admitPost(freeBytes: nil, uploadBytes: upload)  // an object store: no limit known
        try StorageRules.admitPost(freeBytes: StorageRules.neededForPost(uploadBytes: upload), uploadBytes: upload)
        #expect(throws: StorageRules.storageFull) {
            try StorageRules.admitPost(freeBytes: StorageRules.neededForPost(uploadBytes: upload) - 1, uploadBytes: upload)
        }
        #expect(StorageRules.storageFull.kind == .insufficientStorage && StorageRules.storageFull.retryAfterSeconds == 60)
    }
}

@Suite struct NULCharacterTests {
    @Test func anEscapedNULIsFoundAndNothingElseIs() {
        #expect(NULCharacter.isEscaped(inJSON: Array(#"{"title":"a\u0000b"}"#.utf8)))
        #expect(NULCharacter.isEscaped(inJSON: Array(#"{"segmentIds":["\u0000"]}"#.utf8)))
        #expect(!NULCharacter.isEscaped(inJSON: Array(#"{"title":"a\\u0000b"}"#.utf8)))  // a backslash, then "u0000"
        #expect(!NULCharacter.isEscaped(inJSON: Array(#"{"title":"\u00e9t\u00e9"}"#.utf8)))
        #expect(!NULCharacter.isEscaped(inJSON: Array(#"{"title":"\\"}"#.utf8)))
        #expect(!NULCharacter.isEscaped(inJSON: Array(#"\"#.utf8)))
    }
}
