import EphemeraCore
import SQLKit

/// The visibility rule of `EphemeraCore.isVisible` as a SQL predicate over `segments AS s`, for list reads
/// (story, tray, For You). `VisibilityAgreementTests` checks the two agree on every combination.
public enum SQLVisibility {
    /// Whether a block stands between `a` and `b`, whichever of them blocked the other: the one SQL form of
    /// `Relations.blocked`. Each side is a column or a bound value.
    public static func blockedEitherWay(_ a: SQLQueryString, _ b: SQLQueryString) -> SQLQueryString {
        """
        EXISTS (SELECT 1 FROM blocks bl WHERE (bl.blocker_id = \(a) AND bl.blocked_id = \(b))
                                         OR (bl.blocker_id = \(b) AND bl.blocked_id = \(a)))
        """
    }

    /// With `throughHighlight`, `EphemeraCore.isVisibleThroughHighlight` instead: the same audience and relations,
    /// in any of `HighlightRules.keptStates` and past `expiresAt` (the caller joins the highlight's list).
    public static func predicate(viewer: String?, now: Instant, throughHighlight: Bool = false) -> SQLQueryString {
        let published: SQLQueryString = "(s.publish_at IS NULL OR s.publish_at <= \(bind: now.milliseconds))"
        let live: SQLQueryString = throughHighlight
            ? "s.state IN (\(binds: HighlightRules.keptStates.map(\.rawValue).sorted())) AND " + published
            : "s.state = 'live' AND s.expires_at > \(bind: now.milliseconds) AND " + published
        guard let viewer else {
            return live + " AND s.audience = 'public'"
        }
        return live + """
             AND (s.author_id = \(bind: viewer) OR (
              (s.audience = 'public'
               OR (s.audience = 'followers' AND EXISTS (SELECT 1 FROM follows f
                   WHERE f.follower_id = \(bind: viewer) AND f.followee_id = s.author_id))
               OR (s.audience = 'closeFriends' AND EXISTS (SELECT 1 FROM close_friends c
                   WHERE c.owner_id = s.author_id AND c.friend_id = \(bind: viewer))))
              AND NOT \(blockedEitherWay("s.author_id", "\(bind: viewer)"))
              AND NOT EXISTS (SELECT 1 FROM hidden_from h
                   WHERE h.owner_id = s.author_id AND h.viewer_id = \(bind: viewer))))
            """
    }
}
