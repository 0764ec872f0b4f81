import EphemeraCore
import Testing

@Suite struct VisibilityTests {
    let author = "author"
    let now = Instant(milliseconds: 1_000_000)

    func segment(state: SegmentState = .live, audience: Audience = .public, expiresIn: Int64 = 60_000) -> Segment {
        Segment(id: "s", authorID: author, kind: .photo, state: state, audience: audience, caption: nil,
                createdAt: now - .seconds(10), expiresAt: Instant(milliseconds: now.milliseconds + expiresIn), uploadID: "u")
    }

    enum Relation: CaseIterable {
        case author, follower, closeFriend, stranger, signedOut, blocked, blockedFollower, hiddenFrom
    }

    func viewer(_ relation: Relation) -> (Viewer, Relations) {
        switch relation {
        case .author: (Viewer(accountID: author), .none)
        case .follower: (Viewer(accountID: "v"), Relations(viewerFollowsAuthor: true))
        case .closeFriend: (Viewer(accountID: "v"), Relations(viewerFollowsAuthor: true, viewerIsCloseFriend: true))
        case .stranger: (Viewer(accountID: "v"), .none)
        case .signedOut: (.signedOut, .none)
        case .blocked: (Viewer(accountID: "v"), Relations(blocked: true))
        case .blockedFollower: (Viewer(accountID: "v"), Relations(blocked: true, viewerFollowsAuthor: true, viewerIsCloseFriend: true))
        case .hiddenFrom: (Viewer(accountID: "v"), Relations(hiddenFromViewer: true, viewerFollowsAuthor: true, viewerIsCloseFriend: true))
        }
    }

    /// The expected answer for a live, unexpired segment, written out as a table.
    static let expected: [Audience: Set<Relation>] = [
        .public: [.author, .follower, .closeFriend, .stranger, .signedOut],
        .followers: [.author, .follower, .closeFriend],
        .closeFriends: [.author, .closeFriend],
    ]

    @Test(arguments: Audience.allCases, Relation.allCases)
    func liveSegmentVisibilityFollowsTheAudienceTable(audience: Audience, relation: Relation) {
        let (viewer, relations) = viewer(relation)
        let visible = isVisible(segment(audience: audience), to: viewer, at: now, graph: relations)
        #expect(visible == Self.expected[audience]!.contains(relation))
    }

    @Test(arguments: SegmentState.allCases.filter { $0 != .live })
    func onlyLiveSegmentsAreVisibleEvenToTheirAuthor(state: SegmentState) {
        for relation in Relation.allCases {
            let (viewer, relations) = viewer(relation)
            #expect(!isVisible(segment(state: state), to: viewer, at: now, graph: relations))
        }
    }

    @Test func segmentVanishesExactlyAtExpiresAt() {
        let s = segment(expiresIn: 5000)
        let (viewer, relations) = viewer(.stranger)
        #expect(isVisible(s, to: viewer, at: s.expiresAt - .milliseconds(1), graph: relations))
        #expect(!isVisible(s, to: viewer, at: s.expiresAt, graph: relations))
        #expect(!isVisible(s, to: Viewer(accountID: author), at: s.expiresAt, graph: .none))
    }

    /// Through a highlight: the same audience table, past the story's end, in the states a highlight keeps.
    @Test(arguments: Audience.allCases, Relation.allCases)
    func throughAHighlightTheAudienceTableHoldsPastExpiry(audience: Audience, relation: Relation) {
        let (viewer, relations) = viewer(relation)
        for state in SegmentState.allCases {
            for expiresIn: Int64 in [60_000, 0, -86_400_000] {
                let seen = isVisibleThroughHighlight(segment(state: state, audience: audience, expiresIn: expiresIn),
                                                     to: viewer, at: now, graph: relations)
                let kept = [SegmentState.live, .expired, .archived].contains(state)
                #expect(seen == (kept && Self.expected[audience]!.contains(relation)), "\(state) \(expiresIn)")
            }
        }
        var scheduled = segment(audience: audience)
        scheduled.publishAt = now + .seconds(1)
        #expect(!isVisibleThroughHighlight(scheduled, to: viewer, at: now, graph: relations))
    }

    @Test func authorReadsOwnSegmentInEveryStateUntilPurged() {
        for state in SegmentState.allCases {
            let readable = isReadableByAuthor(segment(state: state), viewer: Viewer(accountID: author))
            #expect(readable == ![.purging, .purged].contains(state), "\(state)")
            #expect(!isReadableByAuthor(segment(state: state), viewer: Viewer(accountID: "other")))
        }
    }

    @Test func trayPutsUnseenFirstThenNewest() {
        let a = TrayEntry(authorID: "a", latestAt: Instant(milliseconds: 10), segmentCount: 1, unseenCount: 0)
        let b = TrayEntry(authorID: "b", latestAt: Instant(milliseconds: 5), segmentCount: 2, unseenCount: 1)
        let c = TrayEntry(authorID: "c", latestAt: Instant(milliseconds: 20), segmentCount: 1, unseenCount: 1)
        let d = TrayEntry(authorID: "d", latestAt: Instant(milliseconds: 30), segmentCount: 1, unseenCount: 0)
        #expect(trayOrder([a, b, c, d]).map(\.authorID) == ["c", "b", "d", "a"])
        #expect(a.ring == .seen && b.ring == .unseen)
        #expect(StoryRing(visibleSegments: 0, unseenSegments: 0) == StoryRing.none)
    }

    @Test func mutedAuthorsGoLastAndAreNeverMovedOnTo() {
        let me = TrayEntry(authorID: "me", latestAt: Instant(milliseconds: 1), segmentCount: 1, unseenCount: 0)
        let loud = TrayEntry(authorID: "loud", latestAt: Instant(milliseconds: 50), segmentCount: 3, unseenCount: 3, muted: true)
        let a = TrayEntry(authorID: "a", latestAt: Instant(milliseconds: 10), segmentCount: 1, unseenCount: 1)
        let b = TrayEntry(authorID: "b", latestAt: Instant(milliseconds: 5), segmentCount: 1, unseenCount: 0)
        let c = TrayEntry(authorID: "c", latestAt: Instant(milliseconds: 20), segmentCount: 1, unseenCount: 1)
        let order = trayOrder([loud, a, b, c, me])
        #expect(order.map(\.authorID) == ["c", "a", "b", "me", "loud"])
        #expect(loud.ring == .muted && a.ring == .unseen)
        // From c: the other unseen story, then the seen ones after it — never the muted one, nor my own.
        #expect(authorsToMoveOnTo(after: "c", viewerID: "me", entries: order) == ["a", "b"])
        // Opening the muted story itself, the viewer still moves on to the rest: unseen first, then seen.
        #expect(authorsToMoveOnTo(after: "loud", viewerID: "me", entries: order) == ["c", "a", "b"])
        // From my own story, unseen ones wrap round.
        #expect(authorsToMoveOnTo(after: "a", viewerID: "me", entries: order) == ["c", "b"])
    }
}
