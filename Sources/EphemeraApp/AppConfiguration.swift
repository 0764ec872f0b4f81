import EphemeraCore
import Foundation

/// Everything `ephemera serve` can be told, read once into typed values. Each has a flag and an
/// `EPHEMERA_*` environment variable (see `ephemera serve --help` and the README).
public struct AppConfiguration: Sendable {
    /// Address to listen on (`--host`, `EPHEMERA_HOST`).
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks a free one (`--port`, `EPHEMERA_PORT`).
    public var port: Int = 8080
    /// Where the SQLite file and media live (`--data-dir`, `EPHEMERA_DATA_DIR`).
    public var dataDirectory: String = "./data"
    /// `postgres://…`, or nil for `ephemera.sqlite` in the data directory (`--database-url`, `EPHEMERA_DATABASE_URL`).
    public var databaseURL: String?
    /// How long a segment stays in the story (`--story-lifetime`, default 24h).
    public var storyLifetime: Duration = .seconds(24 * 3600)
    /// The longest lifetime a poster may choose per story (`--max-story-lifetime`, default 48h).
    public var maxStoryLifetime: Duration = .seconds(48 * 3600)
    /// How long a deleted segment can be restored (`--restore-window`, default 30d).
    public var restoreWindow: Duration = .seconds(30 * 86400)
    /// How long an upheld takedown keeps the segment, hidden, before it is purged (`--legal-hold`, default 90d).
    public var legalHold: Duration = .seconds(90 * 86400)
    /// An account made admin at start, or when it signs up (`serve --admin HANDLE`).
    public var adminHandle: String?
    /// Media limits; `maxVideoSeconds` is `--max-video-seconds` (15) and `maxVideoBytes` is `--max-upload-bytes`.
    public var mediaLimits = MediaLimits()
    /// Base of the links the server hands out (`--public-url`); defaults to `http://host:port`.
    public var publicURL: String?
    /// Where the data keys live (`--keyring-dir`, default `DATA_DIR/keyring`); never in `ephemera backup`.
    public var keyringDirectory: String?
    /// Plaintext scratch space for uploads and ffmpeg (`--scratch-dir`); by default a folder on the
    /// `/dev/shm` tmpfs, so no plaintext media touches the data directory's disk.
    public var scratchDirectory: String?
    /// How long keyring backups are kept (`--key-backup-retention`, default 7d); a receipt promises no
    /// readable copy of a purged segment after purge time plus this.
    public var keyBackupRetention: Duration {
        get { backupRetention.keys }
        set { backupRetention.keys = newValue }
    }
    /// How long database backups are kept (`--backup-retention`, default 30d): `ephemera backup --output-dir`
    /// deletes older ones, and a receipt promises no readable copy after the longer of this and the above.
    public var backupRetention = BackupRetention()
    /// Rate limits on sign-up, sign-in, likes, comments and shares (`--rate-limits on|off|FACTOR`): off, or
    /// `RateLimit.defaults` scaled by this factor (2 allows twice as much).
    public var rateLimits = true
    public var rateLimitFactor = 1.0
    /// bcrypt cost for passwords; lower only in tests.
    public var bcryptCost: UInt8 = 12
    /// Whether the job worker and expiry sweeper run in the background (tests drive them by hand).
    public var runBackgroundServices = true
    /// How long a claimed job is leased before another node may take it over (renewed while it runs); 30 s, set
    /// shorter only by `EPHEMERA_JOB_LEASE` (the cluster test's takeover scenario).
    public var jobLease: Duration = .seconds(30)
    /// How often the expiry sweeper tidies.
    public var sweepInterval: Duration = .seconds(30)
    /// How long a first download waits for its watermarked copy to be made before answering 202 with
    /// `Retry-After` (the copy is made by a job in the media lane, one encode at a time).
    public var downloadWait: Duration = .seconds(20)

    /// Data keys in a PostgreSQL database of their own (`--keyring-url`) instead of the keyring folder; never in
    /// `ephemera backup`.
    public var keyringURL: String?
    /// The 32-byte key-encryption key that wraps each data key in the PostgreSQL keyring (`--master-key-file`).
    public var masterKey: [UInt8]?
    /// Where encrypted blobs live (`--media-store file|s3`, default `file` under the data directory).
    public var mediaStore: MediaStoreKind = .file
    /// The bucket when `mediaStore` is `.s3` (`--s3-endpoint`, `--s3-bucket`, `--s3-region`, `--s3-path-style`;
    /// credentials only from `EPHEMERA_S3_ACCESS_KEY_ID` and `EPHEMERA_S3_SECRET_ACCESS_KEY`).
    public var s3: S3Settings?

    public enum MediaStoreKind: String, Sendable { case file, s3 }

    /// What this node runs (`--role all|web|worker`, default all).
    public var role: NodeRole = .all
    /// This node's name in job claims and logs (`--node-id`, default hostname:pid).
    public var nodeID: String = AppConfiguration.defaultNodeID
    /// A streaming replica for reads (`--database-read-url`); an author's own writes are read from the primary
    /// or after the replica has replayed them.
    public var databaseReadURL: String?
    /// Peers whose `X-Forwarded-For` names the client (`--trusted-proxies`); by default nobody's.
    public var trustedProxies = TrustedProxies([])
    /// Requests answered at once before more are refused with 503 (`--max-in-flight`, `AdmissionRules`).
    public var maxInFlight = AdmissionRules.defaultMaxInFlight
    /// ffmpeg and ffprobe in a network namespace of their own, where nothing is reachable (`--ffmpeg-network
    /// isolated`, the default), or sharing the server's (`shared`: the protocol whitelist alone stops them).
    public var isolateFFmpegNetwork = true
    /// The longest a password check may expect to wait for a hashing thread before it is refused with 503.
    public var passwordWaitSeconds = AdmissionRules.passwordLaneMaxWaitSeconds
    /// Who may read `/metrics` (`--metrics-allow`); this machine by default.
    public var metricsAccess = MetricsAccess.loopback

    public static var defaultNodeID: String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }

    public struct S3Settings: Sendable, Hashable {
        public var endpoint: URL
        public var bucket: String
        public var region: String
        public var pathStyle: Bool
        public var accessKeyID: String
        public var secretAccessKey: String

        public init(endpoint: URL, bucket: String, region: String = "us-east-1", pathStyle: Bool = true,
                    accessKeyID: String, secretAccessKey: String) {
            self.endpoint = endpoint
            self.bucket = bucket
            self.region = region
            self.pathStyle = pathStyle
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
        }

        /// The origin browsers fetch presigned ciphertext from (the bucket's host when addressed virtual-hosted).
        public var browserOrigin: String {
            guard let scheme = endpoint.scheme, let host = endpoint.host else { return endpoint.absoluteString }
            let port = endpoint.port.map { ":\($0)" } ?? ""
            return "\(scheme)://\(pathStyle ? host : "\(bucket).\(host)")\(port)"
        }
    }

    public init() {}

    /// The largest request body accepted for an upload: the media limit plus room for the form fields.
    public var maxUploadBytes: Int64 { mediaLimits.maxVideoBytes }

    public var resolvedDatabaseURL: String {
        databaseURL ?? (dataDirectory as NSString).appendingPathComponent("ephemera.sqlite")
    }

    public var resolvedKeyringDirectory: String {
        keyringDirectory ?? (dataDirectory as NSString).appendingPathComponent("keyring")
    }

    /// The scratch folder: the configured one, else one per data directory on `/dev/shm` (tmpfs), else
    /// `DATA_DIR/tmp` when there is no tmpfs.
    public var resolvedScratchDirectory: String {
        if let scratchDirectory { return scratchDirectory }
        let absolute = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in absolute.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        if FileManager.default.isWritableFile(atPath: "/dev/shm") {
            return "/dev/shm/ephemera-\(getuid())-" + String(hash, radix: 16)
        }
        return (dataDirectory as NSString).appendingPathComponent("tmp")
    }

    public var resolvedPublicURL: String {
        var url = publicURL ?? "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    /// The effective configuration without secrets, for the start-up log line.
    public var summary: String {
        var database = resolvedDatabaseURL
        if let at = database.firstIndex(of: "@"), let scheme = database.range(of: "://") {
            database = String(database[..<scheme.upperBound]) + "…" + String(database[at...])
        }
        return "host=\(host) port=\(port) data-dir=\(dataDirectory) database=\(database) "
            + "story-lifetime=\(storyLifetime.seconds)s max-story-lifetime=\(maxStoryLifetime.seconds)s restore-window=\(restoreWindow.seconds)s "
            + "max-video-seconds=\(mediaLimits.maxVideoSeconds) max-upload-bytes=\(mediaLimits.maxVideoBytes) "
            + "public-url=\(resolvedPublicURL) keyring-dir=\(resolvedKeyringDirectory) "
            + "scratch-dir=\(resolvedScratchDirectory) key-backup-retention=\(keyBackupRetention.seconds)s "
            + "keyring=\(keyringURL == nil ? "folder" : "postgres") media-store=\(mediaStore.rawValue)\(s3.map { " s3=\($0.endpoint.absoluteString)/\($0.bucket) region=\($0.region) path-style=\($0.pathStyle)" } ?? "") "
            + "legal-hold=\(legalHold.seconds)s download-wait=\(downloadWait.seconds)s admin=\(adminHandle ?? "-") "
            + "role=\(role.rawValue) node-id=\(nodeID) read-replica=\(databaseReadURL == nil ? "none" : "yes") "
            + "trusted-proxies=\(trustedProxies.blocks.isEmpty ? "none" : trustedProxies.blocks.map(\.description).joined(separator: ",")) "
            + "metrics-allow=\(metricsAccess.blocks.map(\.description).joined(separator: ",")) max-in-flight=\(maxInFlight) "
            + "ffmpeg-network=\(isolateFFmpegNetwork ? "isolated" : "shared")"
    }
}

/// Reads `--master-key-file`: exactly 32 raw bytes, or 64 hexadecimal digits (with an optional newline).
public enum MasterKeyFile {
    public struct Problem: Error { public var message: String }

    public static func read(_ path: String) -> Result<[UInt8], Problem> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(Problem(message: "cannot read '\(path)' (make one with: openssl rand -hex 32 > \(path); chmod 600 \(path))"))
        }
        if data.count == 32 { return .success([UInt8](data)) }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count == 64, text.allSatisfy(\.isHexDigit) {
            var bytes: [UInt8] = []
            var index = text.startIndex
            while index < text.endIndex {
                let next = text.index(index, offsetBy: 2)
                bytes.append(UInt8(text[index..<next], radix: 16)!)
                index = next
            }
            return .success(bytes)
        }
        return .failure(Problem(message: "'\(path)' holds \(data.count) bytes; it must hold a 32-byte key (32 raw bytes or 64 hex digits)"))
    }
}
