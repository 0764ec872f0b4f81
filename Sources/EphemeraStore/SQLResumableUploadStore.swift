import EphemeraCore
import Foundation
import SQLKit

/// A tus upload: where it stands, and what it became.
public struct ResumableUpload: Sendable, Hashable {
    public var id: String
    public var ownerID: String
    public var length: Int64
    /// Plaintext bytes received and committed.
    public var offset: Int64
    /// Bytes of the encrypted spool that hold them.
    public var storedBytes: Int64
    /// The spool's committed parts, when it is kept in parts (an object store).
    public var spoolParts: [String]
    /// The raw `Upload-Metadata` header (cleared once the upload completes).
    public var metadata: String
    public var createdAt: Instant
    public var expiresAt: Instant
    /// The `uploads` row (and so the segments) the completed upload became.
    public var postID: String?
    public var failureCode: String?
    public var failureMessage: String?

    public init(id: String, ownerID: String, length: Int64, metadata: String, createdAt: Instant, expiresAt: Instant) {
        self.id = id
        self.ownerID = ownerID
        self.length = length
        offset = 0
        storedBytes = 0
        spoolParts = []
        self.metadata = metadata
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    /// How much of the spool is committed.
    public var spoolPosition: SpoolPosition {
        get { SpoolPosition(offset: offset, storedBytes: storedBytes, parts: spoolParts) }
        set { (offset, storedBytes, spoolParts) = (newValue.offset, newValue.storedBytes, newValue.parts) }
    }

    /// Every byte arrived and the upload became a post, or its content was refused.
    public var isFinished: Bool { postID != nil || failureCode != nil }
}

/// Persistence of tus uploads. The bytes live in an encrypted spool (`UploadSpool`); the row says how much of
/// it is committed.
public struct SQLResumableUploadStore: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    static let columns = """
        id, owner_id, upload_length, upload_offset, stored_bytes, metadata, created_at, expires_at, post_id, \
        failure_code, failure_message, spool_parts
        """

    public func create(_ upload: ResumableUpload) async throws {
        try await database.withConnection { sql in
            try await sql.raw("""
                INSERT INTO resumable_uploads (\(unsafeRaw: Self.columns)) VALUES (\(bind: upload.id),
                \(bind: upload.ownerID), \(bind: upload.length), 0, 0, \(bind: upload.metadata),
                \(bind: upload.createdAt.milliseconds), \(bind: upload.expiresAt.milliseconds), NULL, NULL, NULL, '')
                """).run()
        }
    }

    public func upload(id: String) async throws -> ResumableUpload? {
        try await database.withConnection { sql in
            try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM resumable_uploads WHERE id = \(bind: id)")
                .first().map(Self.decode)
        }
    }

    /// Commits progress, if nobody else moved the offset meanwhile; returns whether it did.
    public func recordProgress(id: String, from expected: Int64, to position: SpoolPosition) async throws -> Bool {
        try await database.withConnection { sql in
            try await !sql.raw("""
                UPDATE resumable_uploads SET upload_offset = \(bind: position.offset),
                stored_bytes = \(bind: position.storedBytes), spool_parts = \(bind: position.parts.joined(separator: ","))
                WHERE id = \(bind: id) AND upload_offset = \(bind: expected) AND post_id IS NULL AND failure_code IS NULL
                RETURNING id
                """).all().isEmpty
        }
    }

    /// Records why the complete upload's content was refused; its metadata is no longer needed.
    public func markFailed(id: String, code: String, message: String) async throws {
        try await database.withConnection { sql in
            try await sql.raw("""
                UPDATE resumable_uploads SET failure_code = \(bind: code), failure_message = \(bind: message),
                metadata = '' WHERE id = \(bind: id)
                """).run()
        }
    }

    public func delete(id: String) async throws {
        try await database.withConnection { sql in
            try await sql.raw("DELETE FROM resumable_uploads WHERE id = \(bind: id)").run()
        }
    }

    /// Uploads whose time is up, finished or not.
    public func expired(now: Instant, limit: Int) async throws -> [String] {
        try await database.withConnection { sql in
            try await sql.raw("""
                SELECT id FROM resumable_uploads WHERE expires_at <= \(bind: now.milliseconds) ORDER BY expires_at
                LIMIT \(unsafeRaw: String(limit))
                """).all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    /// Finished uploads (their spools are removed once they finish; a crash in between leaves one to sweep).
    public func finishedIDs() async throws -> [String] {
        try await database.withConnection { sql in
            try await sql.raw("""
                SELECT id FROM resumable_uploads WHERE post_id IS NOT NULL OR failure_code IS NOT NULL
                """).all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    public func ids(ownerID: String) async throws -> [String] {
        try await database.withConnection { sql in
            try await sql.raw("SELECT id FROM resumable_uploads WHERE owner_id = \(bind: ownerID)")
                .all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    public func allIDs() async throws -> Set<String> {
        try await database.withConnection { sql in
            Set(try await sql.raw("SELECT id FROM resumable_uploads").all().map { try $0.decode(column: "id", as: String.self) })
        }
    }

    static func decode(_ row: any SQLRow) throws -> ResumableUpload {
        var upload = ResumableUpload(
            id: try row.decode(column: "id", as: String.self),
            ownerID: try row.decode(column: "owner_id", as: String.self),
            length: try row.decode(column: "upload_length", as: Int64.self),
            metadata: try row.decode(column: "metadata", as: String.self),
            createdAt: Instant(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            expiresAt: Instant(milliseconds: try row.decode(column: "expires_at", as: Int64.self)))
        upload.offset = try row.decode(column: "upload_offset", as: Int64.self)
        upload.storedBytes = try row.decode(column: "stored_bytes", as: Int64.self)
        upload.postID = try row.decode(column: "post_id", as: String?.self)
        upload.failureCode = try row.decode(column: "failure_code", as: String?.self)
        upload.failureMessage = try row.decode(column: "failure_message", as: String?.self)
        upload.spoolParts = try row.decode(column: "spool_parts", as: String.self).split(separator: ",").map(String.init)
        return upload
    }
}
