import EphemeraCore
import Testing

@Suite struct LifecycleTests {
    /// Every allowed move, as DESIGN.md draws it; anything not listed must be refused.
    static let allowed: [(SegmentState, LifecycleEvent, Bool, SegmentState)] = [
        (.processing, .processed, false, .live),
        (.processing, .processingFailed, false, .failed),
        (.live, .expire, true, .expired),
        (.expired, .archive, true, .archived),
        (.live, .delete, false, .deleted),
        (.expired, .delete, true, .deleted),
        (.archived, .delete, true, .deleted),
        (.deleted, .restore, false, .live),
        (.deleted, .restore, true, .archived),
        (.live, .takedown, false, .removed),
        (.expired, .takedown, true, .removed),
        (.archived, .takedown, true, .removed),
        (.removed, .reinstate, false, .live),
        (.removed, .reinstate, true, .archived),
        (.purging, .finishPurge, false, .purged),
    ]
    static let purgeable: [SegmentState] = [.processing, .live, .expired, .archived, .deleted, .failed, .removed, .purging]

    @Test func everyDrawnTransitionIsAllowed() {
        for (from, event, expired, to) in Self.allowed {
            #expect(Lifecycle.next(after: from, on: event, expired: expired) == to, "\(from) --\(event)--> \(to)")
        }
        for state in Self.purgeable {
            #expect(Lifecycle.next(after: state, on: .beginPurge, expired: false) == .purging)
        }
    }

    @Test func everyOtherTransitionIsRefused() {
        for state in SegmentState.allCases {
            for event in LifecycleEvent.allCases {
                let drawn = Self.allowed.contains { $0.0 == state && $0.1 == event }
                    || (event == .beginPurge && Self.purgeable.contains(state))
                for expired in [false, true] {
                    #expect((Lifecycle.next(after: state, on: event, expired: expired) != nil) == drawn,
                            "\(state) --\(event)--> (expired: \(expired))")
                }
            }
        }
    }

    @Test func purgedIsFinal() throws {
        for event in LifecycleEvent.allCases {
            #expect(Lifecycle.next(after: .purged, on: event, expired: true) == nil)
        }
        #expect(throws: EphemeraError.self) { try Lifecycle.apply(.restore, to: .purged, expired: false) }
    }
}
