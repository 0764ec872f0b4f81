import SQLKit

/// What happens to a piece of stored data when people delete things (DESIGN.md, "Deletion", 6): every table
/// and column of the schema is classified here, in one place. `DataClassificationTests` lists the live schema
/// on both databases and fails when a column has no class, so new data cannot escape deletion by being
/// forgotten.
public enum DataClass: String, Sendable, CaseIterable {
    /// Removed when its segment is purged.
    case purgedWithSegment
    /// Removed when its account is deleted.
    case purgedWithAccount
    /// Kept after a purge, naming no person: the tombstone and what points at it.
    case keptAnonymised
    /// Not about a person (schema bookkeeping, job machinery).
    case notPersonal
    /// Counters naming an account or an address (rate limits), removed an hour after their last use.
    case expiresWithinAnHour
}

public enum DataClassification {
    static func all(_ dataClass: DataClass, _ columns: [String]) -> [String: DataClass] {
        Dictionary(uniqueKeysWithValues: columns.map { ($0, dataClass) })
    }

    /// table → column → class.
    public static let schema: [String: [String: DataClass]] = [
        "schema_migrations": all(.notPersonal, ["name", "applied_at"]),
        "accounts": all(.purgedWithAccount, [
            "id", "handle", "display_name", "password_hash", "role", "created_at", "default_audience",
            "allow_downloads", "allow_comments", "view_history", "archive_expired", "deleted_at", "activity_seen_at",
            "language",
        ]),
        "profile_views": all(.purgedWithAccount, ["viewer_id", "profile_id", "viewed_at"]),
        "sessions": all(.purgedWithAccount, ["token_hash", "account_id", "created_at"]),
        "follows": all(.purgedWithAccount, ["follower_id", "followee_id", "created_at"]),
        "close_friends": all(.purgedWithAccount, ["owner_id", "friend_id", "created_at"]),
        "blocks": all(.purgedWithAccount, ["blocker_id", "blocked_id", "created_at"]),
        "hidden_from": all(.purgedWithAccount, ["owner_id", "viewer_id", "created_at"]),
        "mutes": all(.purgedWithAccount, ["owner_id", "muted_id", "created_at"]),
        "uploads": all(.purgedWithSegment, ["id", "author_id", "source_file", "plan", "created_at"]),
        "segments": all(.purgedWithSegment, [
            "id", "author_id", "upload_id", "position", "kind", "state", "audience", "caption", "created_at",
            "expires_at", "duration_ms", "width", "height", "failure_reason", "deleted_at", "restorable_until",
            "media_tag", "view_count", "like_count", "comment_count", "share_count", "download_count", "discarded_at",
            "alt_text", "allow_comments", "allow_downloads", "publish_at", "impression_count", "tap_forward_count",
            "tap_back_count", "exit_count", "completion_count",
        ]),
        "views": all(.purgedWithSegment, ["segment_id", "viewer_id", "viewed_at"]),
        "shares": all(.purgedWithSegment, ["id", "segment_id", "account_id", "created_at"]),
        "likes": all(.purgedWithSegment, ["segment_id", "account_id", "created_at"]),
        "comments": all(.purgedWithSegment, ["id", "segment_id", "author_id", "text", "created_at"]),
        "reactions": all(.purgedWithSegment, ["segment_id", "account_id", "emoji", "created_at"]),
        "replies": all(.purgedWithSegment, ["id", "segment_id", "author_id", "text", "created_at"]),
        "highlights": all(.purgedWithAccount, [
            "id", "owner_id", "title", "cover_segment_id", "position", "created_at", "updated_at",
        ]),
        "highlight_segments": all(.purgedWithSegment, ["highlight_id", "segment_id", "position"]),
        "share_links": all(.keptAnonymised, ["code", "segment_id", "created_at", "was_public"]),
        "tombstones": all(.keptAnonymised, [
            "segment_id", "uploaded_at", "kind", "duration_ms", "view_count", "like_count", "comment_count",
            "share_count", "download_count", "purged_at", "impression_count", "tap_forward_count", "tap_back_count",
            "exit_count", "completion_count",
        ]),
        // Written while a purge runs, dropped when its receipt is written.
        "purge_log": all(.purgedWithSegment, ["segment_id", "author_id", "step", "store", "detail", "at"]),
        // The author's proof of deletion: theirs until their account goes.
        "deletion_receipts": all(.purgedWithAccount, ["segment_id", "author_id", "receipt", "created_at"]),
        // A tus upload: its metadata (caption, overlay text) is cleared when it completes, and the row and its
        // encrypted spool go when it expires (24 h) or with the account.
        "resumable_uploads": all(.purgedWithAccount, [
            "id", "owner_id", "upload_length", "upload_offset", "stored_bytes", "metadata", "created_at",
            "expires_at", "post_id", "failure_code", "failure_message", "spool_parts",
        ]),
        // Moderation of a segment goes with it; the log below keeps what was decided.
        "reports": all(.purgedWithSegment, [
            "id", "segment_id", "reporter_id", "reason", "details", "status", "created_at", "resolved_by", "resolved_at",
        ]),
        "takedowns": all(.purgedWithSegment, [
            "segment_id", "reason", "moderator_id", "created_at", "hold_until",
        ]),
        "appeals": all(.purgedWithSegment, [
            "id", "segment_id", "message", "created_at", "decision", "decided_by", "decided_at", "note",
        ]),
        // Append-only and kept: who did what to which segment id, and why. The reporter's details, the appeal's
        // message and moderators' notes go when the segment is purged; a deleted account's name goes with it.
        "moderation_log": all(.keptAnonymised, ["id", "at", "action", "segment_id", "subject_id", "reason"])
            .merging(["actor_id": .purgedWithAccount, "detail": .purgedWithSegment]) { $1 },
        "jobs": all(.notPersonal, [
            "id", "kind", "payload", "state", "attempts", "max_attempts", "run_at", "lease_until", "last_error",
            "created_at", "finished_at", "claimed_by",
        ]),
        "rate_buckets": all(.expiresWithinAnHour, ["key", "tokens", "updated_at"]),
    ]

    /// The keyring database's schema (`--keyring-url`, a database of its own): a data key is destroyed — its row
    /// deleted and the table vacuumed — when its segment (or upload, or waiting file) goes.
    public static let keyringSchema: [String: [String: DataClass]] = [
        "data_keys": all(.purgedWithSegment, ["id", "wrapped", "created_at"]),
        // The erasure ledger: random ids of deleted accounts and purged segments and when; it must outlive them
        // (a restore replays it), and names no person once the rows it points at are gone.
        "erasures": all(.keptAnonymised, ["kind", "id", "at"]),
    ]

    /// The live schema: table → columns.
    public static func liveSchema(_ database: Database) async throws -> [String: Set<String>] {
        try await database.withConnection { sql in
            var schema: [String: Set<String>] = [:]
            switch database.dialect {
            case .sqlite:
                let tables = try await sql.raw("""
                    SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                    """).all().map { try $0.decode(column: "name", as: String.self) }
                for table in tables {
                    schema[table] = Set(try await sql.raw("SELECT name FROM pragma_table_info(\(bind: table))").all()
                        .map { try $0.decode(column: "name", as: String.self) })
                }
            case .postgres:
                for row in try await sql.raw("""
                    SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'
                    """).all() {
                    schema[try row.decode(column: "table_name", as: String.self), default: []]
                        .insert(try row.decode(column: "column_name", as: String.self))
                }
            }
            return schema
        }
    }
}
