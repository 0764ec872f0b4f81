/// Every migration, in order. Append only: a landed migration is never edited.
public enum Migrations {
    public static let all: [Migration] = [
        M0001_CreateAccounts,
        M0002_CreateGraph,
        M0003_CreateSegments,
        M0004_CreateJobs,
        M0005_CreateDeletion,
        M0006_CreateShares,
        M0007_CreateLikesAndComments,
        M0008_AddActivitySeenAt,
        M0009_CreateProfileViews,
        M0010_CreateResumableUploads,
        M0011_CreateModeration,
        M0012_IndexJobsForClaims,
        M0013_MoveDiscardedToSegments,
        M0014_TypedJobPayloads,
        M0015_SharedSegmentWasPublic,
        M0016_SpoolParts,
        M0017_Cluster,
        M0018_SegmentEdits,
        M0019_CreateMutes,
        M0020_CreateReactionsAndReplies,
        M0021_ScheduledSegments,
        M0022_CreateHighlights,
        M0023_Insights,
        M0024_Language,
    ]

    static let M0001_CreateAccounts = Migration("M0001_CreateAccounts", [
        """
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            handle TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            default_audience TEXT NOT NULL,
            allow_downloads BOOLEAN NOT NULL,
            allow_comments BOOLEAN NOT NULL,
            view_history BOOLEAN NOT NULL,
            archive_expired BOOLEAN NOT NULL
        )
        """,
        """
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            created_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX sessions_account ON sessions (account_id)",
    ])

    static let M0002_CreateGraph = Migration("M0002_CreateGraph", [
        """
        CREATE TABLE follows (
            follower_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            followee_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (follower_id, followee_id)
        )
        """,
        "CREATE INDEX follows_followee ON follows (followee_id, follower_id)",
        """
        CREATE TABLE close_friends (
            owner_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            friend_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (owner_id, friend_id)
        )
        """,
        """
        CREATE TABLE blocks (
            blocker_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            blocked_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (blocker_id, blocked_id)
        )
        """,
        "CREATE INDEX blocks_blocked ON blocks (blocked_id, blocker_id)",
        """
        CREATE TABLE hidden_from (
            owner_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            viewer_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (owner_id, viewer_id)
        )
        """,
    ])

    static let M0003_CreateSegments = Migration("M0003_CreateSegments", [
        """
        CREATE TABLE uploads (
            id TEXT PRIMARY KEY,
            author_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            source_file TEXT NOT NULL,
            plan TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE segments (
            id TEXT PRIMARY KEY,
            author_id TEXT NOT NULL REFERENCES accounts(id),
            upload_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            kind TEXT NOT NULL,
            state TEXT NOT NULL,
            audience TEXT NOT NULL,
            caption TEXT,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            duration_ms BIGINT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            failure_reason TEXT,
            deleted_at BIGINT,
            restorable_until BIGINT,
            media_tag TEXT,
            view_count INTEGER NOT NULL DEFAULT 0,
            like_count INTEGER NOT NULL DEFAULT 0,
            comment_count INTEGER NOT NULL DEFAULT 0,
            share_count INTEGER NOT NULL DEFAULT 0,
            download_count INTEGER NOT NULL DEFAULT 0
        )
        """,
        "CREATE INDEX segments_author ON segments (author_id, state, expires_at)",
        "CREATE INDEX segments_state_expiry ON segments (state, expires_at)",
        "CREATE INDEX segments_upload ON segments (upload_id, position)",
        """
        CREATE TABLE views (
            segment_id TEXT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
            viewer_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            viewed_at BIGINT NOT NULL,
            PRIMARY KEY (segment_id, viewer_id)
        )
        """,
        "CREATE INDEX views_viewer ON views (viewer_id, segment_id)",
    ])

    static let M0004_CreateJobs = Migration("M0004_CreateJobs", [
        """
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL,
            run_at BIGINT NOT NULL,
            lease_until BIGINT,
            last_error TEXT,
            created_at BIGINT NOT NULL,
            finished_at BIGINT
        )
        """,
        "CREATE INDEX jobs_ready ON jobs (state, run_at)",
    ])

    static let M0005_CreateDeletion = Migration("M0005_CreateDeletion", [
        "ALTER TABLE accounts ADD COLUMN deleted_at BIGINT",
        "CREATE INDEX segments_restorable ON segments (state, restorable_until)",
        // What is left of a purged segment: no author, no viewer, only aggregates.
        """
        CREATE TABLE tombstones (
            segment_id TEXT PRIMARY KEY,
            uploaded_at BIGINT NOT NULL,
            kind TEXT NOT NULL,
            duration_ms BIGINT NOT NULL,
            view_count INTEGER NOT NULL,
            like_count INTEGER NOT NULL,
            comment_count INTEGER NOT NULL,
            share_count INTEGER NOT NULL,
            download_count INTEGER NOT NULL,
            purged_at BIGINT NOT NULL
        )
        """,
        // The purge's own durable notes while it runs: what each step removed, so a resumed purge can still
        // write a complete receipt. Deleted when the receipt is written.
        """
        CREATE TABLE purge_log (
            segment_id TEXT NOT NULL,
            author_id TEXT NOT NULL,
            step TEXT NOT NULL,
            store TEXT NOT NULL,
            detail TEXT NOT NULL,
            at BIGINT NOT NULL,
            PRIMARY KEY (segment_id, step)
        )
        """,
        """
        CREATE TABLE deletion_receipts (
            segment_id TEXT PRIMARY KEY,
            author_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            receipt TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX deletion_receipts_author ON deletion_receipts (author_id)",
    ])

    static let M0006_CreateShares = Migration("M0006_CreateShares", [
        // A segment's public share code. Kept after a purge (it names no person) so the link answers 410.
        """
        CREATE TABLE share_links (
            code TEXT PRIMARY KEY,
            segment_id TEXT NOT NULL UNIQUE,
            created_at BIGINT NOT NULL
        )
        """,
        // Who shared what: purged with the segment (and with the sharer's account).
        """
        CREATE TABLE shares (
            id TEXT PRIMARY KEY,
            segment_id TEXT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
            account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            created_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX shares_segment ON shares (segment_id)",
    ])

    static let M0007_CreateLikesAndComments = Migration("M0007_CreateLikesAndComments", [
        """
        CREATE TABLE likes (
            segment_id TEXT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
            account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (segment_id, account_id)
        )
        """,
        "CREATE INDEX likes_account ON likes (account_id)",
        """
        CREATE TABLE comments (
            id TEXT PRIMARY KEY,
            segment_id TEXT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
            author_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            text TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX comments_segment ON comments (segment_id, created_at)",
        "CREATE INDEX comments_author ON comments (author_id)",
    ])

    /// The activity inbox is derived from likes, comments, shares and follows (so it can never outlive them);
    /// only the moment the owner last read it is stored.
    static let M0008_AddActivitySeenAt = Migration("M0008_AddActivitySeenAt", [
        "ALTER TABLE accounts ADD COLUMN activity_seen_at BIGINT",
        "CREATE INDEX shares_account ON shares (account_id)",
    ])

    static let M0009_CreateProfileViews = Migration("M0009_CreateProfileViews", [
        """
        CREATE TABLE profile_views (
            viewer_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            profile_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            viewed_at BIGINT NOT NULL,
            PRIMARY KEY (profile_id, viewer_id)
        )
        """,
        "CREATE INDEX profile_views_time ON profile_views (viewed_at)",
    ])

    /// tus uploads in progress: how much of the upload is committed to its encrypted spool, and, once it is
    /// complete, the post it became (or why its content was refused).
    static let M0010_CreateResumableUploads = Migration("M0010_CreateResumableUploads", [
        """
        CREATE TABLE resumable_uploads (
            id TEXT PRIMARY KEY,
            owner_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            upload_length BIGINT NOT NULL,
            upload_offset BIGINT NOT NULL,
            stored_bytes BIGINT NOT NULL,
            metadata TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            post_id TEXT,
            failure_code TEXT,
            failure_message TEXT
        )
        """,
        "CREATE INDEX resumable_uploads_expiry ON resumable_uploads (expires_at)",
        "CREATE INDEX resumable_uploads_owner ON resumable_uploads (owner_id)",
    ])

    /// Moderation: reports on segments, takedowns (with the legal hold an upheld appeal starts), appeals, and
    /// the append-only log of every action, which outlives the segments it names (without their content).
    static let M0011_CreateModeration = Migration("M0011_CreateModeration", [
        """
        CREATE TABLE reports (
            id TEXT PRIMARY KEY,
            segment_id TEXT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
            reporter_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            reason TEXT NOT NULL,
            details TEXT,
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            resolved_by TEXT REFERENCES accounts(id) ON DELETE SET NULL,
            resolved_at BIGINT
        )
        """,
        "CREATE INDEX reports_open ON reports (status, created_at)",
        "CREATE INDEX reports_segment ON reports (segment_id)",
        "CREATE INDEX reports_reporter ON reports (reporter_id, segment_id)",
        """
        CREATE TABLE takedowns (
            segment_id TEXT PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE,
            reason TEXT NOT NULL,
            moderator_id TEXT REFERENCES accounts(id) ON DELETE SET NULL,
            created_at BIGINT NOT NULL,
            hold_until BIGINT,
            discarded_at BIGINT
        )
        """,
        "CREATE INDEX takedowns_hold ON takedowns (hold_until)",
        """
        CREATE TABLE appeals (
            id TEXT PRIMARY KEY,
            segment_id TEXT NOT NULL UNIQUE REFERENCES segments(id) ON DELETE CASCADE,
            message TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            decision TEXT,
            decided_by TEXT REFERENCES accounts(id) ON DELETE SET NULL,
            decided_at BIGINT,
            note TEXT
        )
        """,
        "CREATE INDEX appeals_open ON appeals (decided_at, created_at)",
        """
        CREATE TABLE moderation_log (
            id TEXT PRIMARY KEY,
            at BIGINT NOT NULL,
            action TEXT NOT NULL,
            segment_id TEXT,
            subject_id TEXT,
            actor_id TEXT REFERENCES accounts(id) ON DELETE SET NULL,
            reason TEXT,
            detail TEXT
        )
        """,
        "CREATE INDEX moderation_log_time ON moderation_log (at, id)",
        "CREATE INDEX moderation_log_segment ON moderation_log (segment_id)",
    ])

    /// Claims look for the oldest due job of one kind: one index seek each, however long the queue (a day's
    /// expiries queue tens of thousands of purges).
    static let M0012_IndexJobsForClaims = Migration("M0012_IndexJobsForClaims", [
        "CREATE INDEX jobs_claim ON jobs (kind, state, run_at, id)",
        "CREATE INDEX jobs_leases ON jobs (state, lease_until)",
    ])

    /// When the author deletes a segment that is held after a takedown, it leaves every read of theirs; the
    /// mark belongs to the segment (every read loads it), not to the takedown that only the removed list joined.
    static let M0013_MoveDiscardedToSegments = Migration("M0013_MoveDiscardedToSegments", [
        "ALTER TABLE segments ADD COLUMN discarded_at BIGINT",
        "UPDATE segments SET discarded_at = (SELECT t.discarded_at FROM takedowns t WHERE t.segment_id = segments.id)",
        "ALTER TABLE takedowns DROP COLUMN discarded_at",
    ])

    /// Jobs are typed: the payload names what the job is about (`{"segmentID":"…"}`) instead of a bare id.
    /// Queued rows of the older form are rewritten so no reader needs to know both.
    static let M0014_TypedJobPayloads = Migration("M0014_TypedJobPayloads", [
        """
        UPDATE jobs SET payload = '{"uploadID":"' || payload || '"}' WHERE kind = 'process_upload' AND payload NOT LIKE '{%'
        """,
        """
        UPDATE jobs SET payload = '{"segmentID":"' || payload || '"}' WHERE kind = 'purge_segment' AND payload NOT LIKE '{%'
        """,
        """
        UPDATE jobs SET payload = '{"accountID":"' || payload || '"}' WHERE kind = 'delete_account' AND payload NOT LIKE '{%'
        """,
    ])

    /// A purged segment's share link answers 410 only if anyone could have seen it (it was public); the purge
    /// records that, and nothing about who could see it otherwise. Links of segments purged before this
    /// migration were all answered 410, so they keep that answer.
    static let M0015_SharedSegmentWasPublic = Migration("M0015_SharedSegmentWasPublic", [
        "ALTER TABLE share_links ADD COLUMN was_public BOOLEAN",
        "UPDATE share_links SET was_public = TRUE WHERE segment_id IN (SELECT segment_id FROM tombstones)",
    ])

    /// A tus upload's spool may be parts in an object store (one per write, from any node); the upload row
    /// records which parts are committed, in order, comma separated. Spools on a disk have none.
    static let M0016_SpoolParts = Migration("M0016_SpoolParts", [
        "ALTER TABLE resumable_uploads ADD COLUMN spool_parts TEXT NOT NULL DEFAULT ''",
    ])

    /// Several nodes: which node holds a job (for the logs and `ephemera jobs`), and rate-limit buckets shared
    /// by every node (`SQLRateBuckets`).
    static let M0017_Cluster = Migration("M0017_Cluster", [
        "ALTER TABLE jobs ADD COLUMN claimed_by TEXT",
        """
        CREATE TABLE rate_buckets (
            key TEXT PRIMARY KEY,
            tokens DOUBLE PRECISION NOT NULL,
            updated_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX rate_buckets_updated ON rate_buckets (updated_at)",
    ])

    /// Segments are edited after posting: alt text for screen readers, and comments and downloads turned on or
    /// off for one segment (NULL: the author's account setting decides).
    static let M0018_SegmentEdits = Migration("M0018_SegmentEdits", [
        "ALTER TABLE segments ADD COLUMN alt_text TEXT",
        "ALTER TABLE segments ADD COLUMN allow_comments BOOLEAN",
        "ALTER TABLE segments ADD COLUMN allow_downloads BOOLEAN",
    ])

    /// Muted authors: last in the muter's tray, not entered from another story; nothing else changes.
    static let M0019_CreateMutes = Migration("M0019_CreateMutes", [
        """
        CREATE TABLE mutes (
            owner_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            muted_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (owner_id, muted_id)
        )
        """,
    ])

    /// Quick reactions (one per viewer and segment, replaced by the next) and private replies; both go with
    /// the segment's purge and with the account that made them.
    static let M0020_CreateReactionsAndReplies = Migration("M0020_CreateReactionsAndReplies", [
        """
        CREATE TABLE reactions (
            segment_id TEXT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
            account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            emoji TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (segment_id, account_id)
        )
        """,
        "CREATE INDEX reactions_account ON reactions (account_id)",
        """
        CREATE TABLE replies (
            id TEXT PRIMARY KEY,
            segment_id TEXT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
            author_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            text TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX replies_segment ON replies (segment_id, created_at, id)",
        "CREATE INDEX replies_author ON replies (author_id)",
    ])

    /// A segment may wait for its `publish_at` (NULL: live once processed); its lifetime starts then. The index
    /// serves the author's list of scheduled segments and the tray cache's next change.
    static let M0021_ScheduledSegments = Migration("M0021_ScheduledSegments", [
        "ALTER TABLE segments ADD COLUMN publish_at BIGINT",
        "CREATE INDEX segments_publish_at ON segments (publish_at) WHERE publish_at IS NOT NULL",
    ])

    /// Highlights: named, ordered collections of an author's segments on their profile. A highlight goes with
    /// its owner; its list of segments loses a segment when that segment is purged (a child table of segments).
    static let M0022_CreateHighlights = Migration("M0022_CreateHighlights", [
        """
        CREATE TABLE highlights (
            id TEXT PRIMARY KEY,
            owner_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            title TEXT NOT NULL,
            cover_segment_id TEXT,
            position INTEGER NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX highlights_owner ON highlights (owner_id, position)",
        """
        CREATE TABLE highlight_segments (
            highlight_id TEXT NOT NULL REFERENCES highlights(id) ON DELETE CASCADE,
            segment_id TEXT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            PRIMARY KEY (highlight_id, segment_id)
        )
        """,
        "CREATE INDEX highlight_segments_segment ON highlight_segments (segment_id)",
    ])

    /// Creator insights: how often a segment was shown and how viewers left it, as counters on its row (no
    /// viewer named), kept as totals in its tombstone like its other counts.
    static let M0023_Insights = Migration("M0023_Insights", [
        "ALTER TABLE segments ADD COLUMN impression_count INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE segments ADD COLUMN tap_forward_count INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE segments ADD COLUMN tap_back_count INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE segments ADD COLUMN exit_count INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE segments ADD COLUMN completion_count INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE tombstones ADD COLUMN impression_count INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE tombstones ADD COLUMN tap_forward_count INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE tombstones ADD COLUMN tap_back_count INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE tombstones ADD COLUMN exit_count INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE tombstones ADD COLUMN completion_count INTEGER NOT NULL DEFAULT 0",
    ])

    /// The language an account chose for the web app and error messages (API.md "Languages"); NULL follows the
    /// browser.
    static let M0024_Language = Migration("M0024_Language", [
        "ALTER TABLE accounts ADD COLUMN language TEXT",
    ])
}
