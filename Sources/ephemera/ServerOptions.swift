import ArgumentParser
import EphemeraApp
import EphemeraCore
import EphemeraStore
import Foundation
import Logging

/// The server's options, each also read from an `EPHEMERA_*` environment variable; a flag wins over the
/// variable, the variable over the default. Every bad value is reported at once.
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on. [EPHEMERA_HOST, default 127.0.0.1]")
    var host: String?
    @Option(help: "Port to listen on (0 picks a free one). [EPHEMERA_PORT, default 8080]")
    var port: String?
    @Option(help: "Folder for the SQLite database and media. [EPHEMERA_DATA_DIR, default ./data]")
    var dataDir: String?
    @Option(help: "postgres://user[:pass]@host:port/db[?sslmode=disable|require|verify-full&sslrootcert=PATH]; a SQLite file in the data folder when absent. [EPHEMERA_DATABASE_URL]")
    var databaseURL: String?
    @Option(help: "How long a story segment is visible: 90s, 15m, 24h, 7d. [EPHEMERA_STORY_LIFETIME, default 24h]")
    var storyLifetime: String?
    @Option(help: "The longest lifetime a poster may choose (6h, 12h, 24h or 48h). [EPHEMERA_MAX_STORY_LIFETIME, default 48h]")
    var maxStoryLifetime: String?
    @Option(help: "How long a deleted segment can be restored. [EPHEMERA_RESTORE_WINDOW, default 30d]")
    var restoreWindow: String?
    @Option(help: "Longest video segment in seconds. [EPHEMERA_MAX_VIDEO_SECONDS, default 15]")
    var maxVideoSeconds: String?
    @Option(help: "Largest upload: bytes, or with KB/MB/GB. [EPHEMERA_MAX_UPLOAD_BYTES, default 200MB]")
    var maxUploadBytes: String?
    @Option(help: "Base URL for links the server hands out. [EPHEMERA_PUBLIC_URL, default http://HOST:PORT]")
    var publicURL: String?
    @Option(help: "Folder of the data keys, kept apart from media and backups. [EPHEMERA_KEYRING_DIR, default DATA_DIR/keyring]")
    var keyringDir: String?
    @Option(help: "Plaintext scratch folder for uploads and ffmpeg. [EPHEMERA_SCRATCH_DIR, default a folder on /dev/shm]")
    var scratchDir: String?
    @Option(help: "How long keyring backups are kept. [EPHEMERA_KEY_BACKUP_RETENTION, default 7d]")
    var keyBackupRetention: String?
    @Option(help: "How long database backups are kept: ephemera backup --output-dir deletes older ones, and receipts count on it. [EPHEMERA_BACKUP_RETENTION, default 30d]")
    var backupRetention: String?
    @Option(help: "How long an upheld takedown is kept, hidden, before it is purged. [EPHEMERA_LEGAL_HOLD, default 90d]")
    var legalHold: String?
    @Option(help: "How long a first download waits for its watermarked copy before answering 202 with Retry-After. [EPHEMERA_DOWNLOAD_WAIT, default 20s]")
    var downloadWait: String?
    @Option(help: "on, off, or a factor such as 2 or 0.5 scaling the limits on sign-up, sign-in, likes, comments and shares. [EPHEMERA_RATE_LIMITS, default on]")
    var rateLimits: String?
    @Option(help: "postgres://… of a database of its own for the data keys, instead of the keyring folder; never part of ephemera backup. Needs --master-key-file. [EPHEMERA_KEYRING_URL]")
    var keyringURL: String?
    @Option(help: "File holding the 32-byte key-encryption key (32 raw bytes, or 64 hex digits as `openssl rand -hex 32` writes) that wraps each data key in the PostgreSQL keyring. [EPHEMERA_MASTER_KEY_FILE]")
    var masterKeyFile: String?
    @Option(help: "Where encrypted media live: file (under the data folder) or s3. [EPHEMERA_MEDIA_STORE, default file]")
    var mediaStore: String?
    @Option(help: "The S3-compatible endpoint, e.g. https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:8333. [EPHEMERA_S3_ENDPOINT]")
    var s3Endpoint: String?
    @Option(help: "The bucket for media. [EPHEMERA_S3_BUCKET]")
    var s3Bucket: String?
    @Option(help: "The bucket's region. [EPHEMERA_S3_REGION, default us-east-1]")
    var s3Region: String?
    @Option(help: "true: ENDPOINT/BUCKET/KEY; false: BUCKET.ENDPOINT/KEY. [EPHEMERA_S3_PATH_STYLE, default true]")
    var s3PathStyle: String?
    @Option(help: "This node's name in job claims and logs. [EPHEMERA_NODE_ID, default hostname:pid]")
    var nodeID: String?
    @Option(help: "postgres://… of a streaming replica for reads; an author's own writes are read from the primary or once the replica has replayed them. [EPHEMERA_DATABASE_READ_URL]")
    var databaseReadURL: String?
    @Option(help: "CIDR,CIDR…: take the client address from X-Forwarded-For only when the peer is one of these (your load balancers). [EPHEMERA_TRUSTED_PROXIES, default none]")
    var trustedProxies: String?
    @Option(help: "Requests answered at once; more are refused at once with 503 and Retry-After (health checks never). [EPHEMERA_MAX_IN_FLIGHT, default 256]")
    var maxInFlight: String?
    @Option(help: "isolated (ffmpeg and ffprobe in a network namespace of their own, where nothing can be reached) or shared (the protocol whitelist alone). [EPHEMERA_FFMPEG_NETWORK, default isolated]")
    var ffmpegNetwork: String?
    @Option(help: "CIDR,CIDR…: who may read /metrics (Prometheus). [EPHEMERA_METRICS_ALLOW, default 127.0.0.0/8,::1]")
    var metricsAllow: String?
    @Option(help: "trace, debug, info, notice, warning, error or critical. [EPHEMERA_LOG_LEVEL, default info]")
    var logLevel: String?
    @Option(help: "text (one readable line per event) or json (one JSON object a line, for log collectors). [EPHEMERA_LOG_FORMAT, default text]")
    var logFormat: String?

    /// The logger for the command, at the configured level.
    func logger() throws -> Logger {
        let text = logLevel ?? ProcessInfo.processInfo.environment["EPHEMERA_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ValidationError("--log-level: '\(text)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        let format = (logFormat ?? ProcessInfo.processInfo.environment["EPHEMERA_LOG_FORMAT"].flatMap { $0.isEmpty ? nil : $0 } ?? "text")
            .lowercased()
        switch format {
        case "text":
            break
        case "json":
            // Every logger of the process, the libraries' included, writes JSON lines.
            Self.bootstrapOnce { label in JSONLogHandler(label: label) }
        default:
            throw ValidationError("--log-format: '\(format)' is not text or json")
        }
        var logger = Logger(label: "ephemera")
        logger.logLevel = level
        return logger
    }

    /// What is wrong with a postgres:// URL's TLS settings (`PostgresURL`), or nil (and nil for a SQLite path).
    static func postgresProblem(_ url: String) -> String? {
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else { return nil }
        do {
            _ = try PostgresURL(url)
            return nil
        } catch let problem as PostgresURL.Problem {
            return problem.description
        } catch {
            return "'\(PostgresURL.redacted(url))' is not a valid postgres:// URL (\(error))"
        }
    }

    nonisolated(unsafe) private static var bootstrapped = false

    /// `LoggingSystem.bootstrap` may run once a process; a command asks for its logger once, on the main task.
    private static func bootstrapOnce(_ factory: @escaping @Sendable (String) -> any LogHandler) {
        guard !bootstrapped else { return }
        bootstrapped = true
        LoggingSystem.bootstrap(factory)
    }

    /// Resolves flags, environment and defaults into a configuration, or fails listing every bad value.
    func configuration(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AppConfiguration {
        var config = AppConfiguration()
        var problems: [String] = []
        func value(_ flag: String?, _ variable: String) -> (String, String)? {
            if let flag { return (flag, "--" + variable.dropFirst("EPHEMERA_".count).lowercased().replacingOccurrences(of: "_", with: "-")) }
            if let env = environment[variable], !env.isEmpty { return (env, variable) }
            return nil
        }
        if let (v, _) = value(host, "EPHEMERA_HOST") { config.host = v }
        if let (v, key) = value(port, "EPHEMERA_PORT") {
            if let p = Int(v), (0...65535).contains(p) { config.port = p } else { problems.append("\(key): '\(v)' is not a port (0-65535)") }
        }
        if let (v, _) = value(dataDir, "EPHEMERA_DATA_DIR") { config.dataDirectory = v }
        if let (v, key) = value(databaseURL, "EPHEMERA_DATABASE_URL") {
            if v.contains("://") && !(v.hasPrefix("postgres://") || v.hasPrefix("postgresql://") || v.hasPrefix("sqlite://")) {
                problems.append("\(key): '\(v)' is neither postgres://… nor a SQLite file path")
            } else if let problem = Self.postgresProblem(v) {
                problems.append("\(key): \(problem)")
            } else {
                config.databaseURL = v
            }
        }
        if let (v, key) = value(maxStoryLifetime, "EPHEMERA_MAX_STORY_LIFETIME") {
            if let d = parseDurationSpec(v) { config.maxStoryLifetime = d } else { problems.append("\(key): '\(v)' is not a duration like 48h") }
        }
        if let (v, key) = value(storyLifetime, "EPHEMERA_STORY_LIFETIME") {
            if let d = parseDurationSpec(v) { config.storyLifetime = d } else { problems.append("\(key): '\(v)' is not a duration like 24h, 90m, 30s or 7d") }
        }
        if let (v, key) = value(restoreWindow, "EPHEMERA_RESTORE_WINDOW") {
            if let d = parseDurationSpec(v) { config.restoreWindow = d } else { problems.append("\(key): '\(v)' is not a duration like 30d or 12h") }
        }
        if let (v, key) = value(maxVideoSeconds, "EPHEMERA_MAX_VIDEO_SECONDS") {
            if let s = Double(v), s > 0, s <= 600 { config.mediaLimits.maxVideoSeconds = s } else { problems.append("\(key): '\(v)' is not a number of seconds (0-600)") }
        }
        if let (v, key) = value(maxUploadBytes, "EPHEMERA_MAX_UPLOAD_BYTES") {
            if let b = parseByteSize(v) { config.mediaLimits.maxVideoBytes = b } else { problems.append("\(key): '\(v)' is not a size like 200MB or 52428800") }
        }
        if let (v, key) = value(publicURL, "EPHEMERA_PUBLIC_URL") {
            if let url = URL(string: v), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil {
                config.publicURL = v
            } else {
                problems.append("\(key): '\(v)' is not an http(s) URL")
            }
        }
        if let (v, _) = value(keyringDir, "EPHEMERA_KEYRING_DIR") { config.keyringDirectory = v }
        if let (v, _) = value(scratchDir, "EPHEMERA_SCRATCH_DIR") { config.scratchDirectory = v }
        if let (v, key) = value(keyBackupRetention, "EPHEMERA_KEY_BACKUP_RETENTION") {
            if let d = parseDurationSpec(v) { config.keyBackupRetention = d } else { problems.append("\(key): '\(v)' is not a duration like 7d") }
        }
        if let (v, key) = value(backupRetention, "EPHEMERA_BACKUP_RETENTION") {
            if let d = parseDurationSpec(v) { config.backupRetention.database = d } else { problems.append("\(key): '\(v)' is not a duration like 30d") }
        }
        if let (v, key) = value(legalHold, "EPHEMERA_LEGAL_HOLD") {
            if let d = parseDurationSpec(v) { config.legalHold = d } else { problems.append("\(key): '\(v)' is not a duration like 90d") }
        }
        if let (v, key) = value(downloadWait, "EPHEMERA_DOWNLOAD_WAIT") {
            // 0 is allowed: answer 202 at once and let the client ask again.
            if v.trimmingCharacters(in: .whitespaces) == "0" {
                config.downloadWait = .zero
            } else if let d = parseDurationSpec(v), d <= .seconds(120) {
                config.downloadWait = d
            } else {
                problems.append("\(key): '\(v)' is not a duration of at most 120s like 20s")
            }
        }
        if let (v, key) = value(rateLimits, "EPHEMERA_RATE_LIMITS") {
            switch v.lowercased() {
            case "on", "true", "1": config.rateLimits = true
            case "off", "false", "0": config.rateLimits = false
            default:
                if let factor = Double(v), factor > 0, factor <= 1000 {
                    config.rateLimitFactor = factor
                } else {
                    problems.append("\(key): '\(v)' is not on, off or a factor like 2")
                }
            }
        }
        if let (v, key) = value(keyringURL, "EPHEMERA_KEYRING_URL") {
            if v.hasPrefix("postgres://") || v.hasPrefix("postgresql://") {
                if let problem = Self.postgresProblem(v) { problems.append("\(key): \(problem)") } else { config.keyringURL = v }
            } else {
                problems.append("\(key): '\(v)' is not a postgres:// URL")
            }
        }
        let masterFile = value(masterKeyFile, "EPHEMERA_MASTER_KEY_FILE")
        if let (path, key) = masterFile {
            switch MasterKeyFile.read(path) {
            case .success(let bytes): config.masterKey = bytes
            case .failure(let problem): problems.append("\(key): \(problem.message)")
            }
        }
        if config.keyringURL != nil, masterFile == nil {
            problems.append("--master-key-file (or EPHEMERA_MASTER_KEY_FILE) is required with --keyring-url: it wraps every data key")
        }
        if let (v, key) = value(mediaStore, "EPHEMERA_MEDIA_STORE") {
            if let kind = AppConfiguration.MediaStoreKind(rawValue: v.lowercased()) {
                config.mediaStore = kind
            } else {
                problems.append("\(key): '\(v)' is not file or s3")
            }
        }
        if config.mediaStore == .s3 {
            var endpointURL: URL?
            if let (v, key) = value(s3Endpoint, "EPHEMERA_S3_ENDPOINT") {
                if let url = URL(string: v), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
                   url.path.isEmpty || url.path == "/" {
                    endpointURL = url
                } else {
                    problems.append("\(key): '\(v)' is not an http(s) URL without a path, like https://s3.example.com")
                }
            } else {
                problems.append("--s3-endpoint (or EPHEMERA_S3_ENDPOINT) is required with --media-store s3")
            }
            let bucket = value(s3Bucket, "EPHEMERA_S3_BUCKET")?.0
            if let bucket, !S3Naming.isValidBucket(bucket) {
                problems.append("--s3-bucket: '\(bucket)' is not a bucket name (3-63 characters: a-z, 0-9, '.', '-')")
            } else if bucket == nil {
                problems.append("--s3-bucket (or EPHEMERA_S3_BUCKET) is required with --media-store s3")
            }
            let region = value(s3Region, "EPHEMERA_S3_REGION")?.0 ?? "us-east-1"
            var pathStyle = true
            if let (v, key) = value(s3PathStyle, "EPHEMERA_S3_PATH_STYLE") {
                switch v.lowercased() {
                case "true", "on", "1": pathStyle = true
                case "false", "off", "0": pathStyle = false
                default: problems.append("\(key): '\(v)' is not true or false")
                }
            }
            let accessKey = environment["EPHEMERA_S3_ACCESS_KEY_ID"] ?? ""
            let secretKey = environment["EPHEMERA_S3_SECRET_ACCESS_KEY"] ?? ""
            if accessKey.isEmpty || secretKey.isEmpty {
                problems.append("EPHEMERA_S3_ACCESS_KEY_ID and EPHEMERA_S3_SECRET_ACCESS_KEY must be set with --media-store s3 (credentials are never flags)")
            }
            if let endpointURL, let bucket, S3Naming.isValidBucket(bucket), !accessKey.isEmpty, !secretKey.isEmpty {
                config.s3 = AppConfiguration.S3Settings(endpoint: endpointURL, bucket: bucket, region: region,
                                                         pathStyle: pathStyle, accessKeyID: accessKey,
                                                         secretAccessKey: secretKey)
            }
        }
        if let (v, key) = value(nodeID, "EPHEMERA_NODE_ID") {
            if (1...100).contains(v.count), v.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "|" }) {
                config.nodeID = v
            } else {
                problems.append("\(key): '\(v)' is not a name of 1-100 printable ASCII characters without spaces or '|'")
            }
        }
        if let (v, key) = value(databaseReadURL, "EPHEMERA_DATABASE_READ_URL") {
            if v.hasPrefix("postgres://") || v.hasPrefix("postgresql://") {
                if let problem = Self.postgresProblem(v) { problems.append("\(key): \(problem)") } else { config.databaseReadURL = v }
            } else {
                problems.append("\(key): '\(v)' is not a postgres:// URL")
            }
        }
        if config.databaseReadURL != nil, !(config.databaseURL.map { $0.hasPrefix("postgres") } ?? false) {
            problems.append("--database-read-url needs --database-url postgres://… (a replica of that primary)")
        }
        if let (v, key) = value(trustedProxies, "EPHEMERA_TRUSTED_PROXIES") {
            switch TrustedProxies.parse(v) {
            case .success(let proxies): config.trustedProxies = proxies
            case .failure(let bad): problems.append("\(key): \(bad.entries.map { "'\($0)'" }.joined(separator: ", ")) not an address block like 10.0.0.0/8 or ::1")
            }
        }
        if let (v, key) = value(maxInFlight, "EPHEMERA_MAX_IN_FLIGHT") {
            if let n = Int(v), (1...100_000).contains(n) { config.maxInFlight = n } else { problems.append("\(key): '\(v)' is not a number of requests (1-100000)") }
        }
        if let (v, key) = value(ffmpegNetwork, "EPHEMERA_FFMPEG_NETWORK") {
            switch v {
            case "isolated": config.isolateFFmpegNetwork = true
            case "shared": config.isolateFFmpegNetwork = false
            default: problems.append("\(key): '\(v)' is not isolated or shared")
            }
        }
        if let (v, key) = value(metricsAllow, "EPHEMERA_METRICS_ALLOW") {
            switch TrustedProxies.parse(v) {
            case .success(let list) where !list.blocks.isEmpty: config.metricsAccess = MetricsAccess(list.blocks)
            case .success: problems.append("\(key): name at least one address block (the default is 127.0.0.0/8,::1)")
            case .failure(let bad): problems.append("\(key): \(bad.entries.map { "'\($0)'" }.joined(separator: ", ")) not an address block like 10.0.0.0/8 or ::1")
            }
        }
        if let v = environment["EPHEMERA_JOB_LEASE"], !v.isEmpty {
            if let d = parseDurationSpec(v), d >= .seconds(3) { config.jobLease = d } else { problems.append("EPHEMERA_JOB_LEASE: '\(v)' is not a duration of at least 3s") }
        }
        if let v = environment["EPHEMERA_BCRYPT_COST"], let cost = UInt8(v), (4...31).contains(cost) { config.bcryptCost = cost }
        if config.storyLifetime > config.maxStoryLifetime {
            problems.append("--story-lifetime (\(Int(config.storyLifetime.seconds / 3600)) h) is longer than --max-story-lifetime (\(Int(config.maxStoryLifetime.seconds / 3600)) h): the default must be a lifetime people may choose")
        }
        guard problems.isEmpty else {
            throw ValidationError("Invalid configuration:\n  " + problems.joined(separator: "\n  "))
        }
        return config
    }
}
