// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

/// The parsers `script/fuzz` fuzzes, one target each (Sources/Fuzz/NAME, Tests/fuzz/corpus/NAME.txt).
let fuzzTargets = ["ImageHeader", "Range", "TusHeaders", "Multipart", "DurationSpec", "Cursor", "FormFields", "StoryFields"]

let package = Package(
    name: "ephemera",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ephemera", targets: ["ephemera"]),
        .library(name: "EphemeraApp", targets: ["EphemeraApp"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        // Named directly for their error types: a unique violation is recognised by its code, not its text.
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        // NIO's thread pool keeps blocking file work (fsync, whole-file encryption) off the request threads.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Already built for Hummingbird; named for NIOHTTPTypes, the request and response parts a channel handler
        // of Hummingbird's HTTP/1 pipeline sees (the ciphertext fast path).
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // HTTP for the S3-compatible object store: no S3 package exists among the local package copies, so the
        // requests are signed by our own SigV4 code and sent with async-http-client (NIO-based, streaming bodies,
        // connection pooling, timeouts), the HTTP client of the Swift server ecosystem.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // Metrics: swift-metrics is the API the job lanes report through; swift-prometheus keeps each node's
        // registry and writes the text format of `GET /metrics`.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Logic-less HTML templates for the web app; Hummingbird's own, so no second templating idiom.
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // Values, rules and ports. No I/O: no Hummingbird, no SQL, no subprocesses, no files.
        .target(
            name: "EphemeraCore",
            swiftSettings: swiftSettings
        ),
        // The one way Ephemera runs a helper program: arguments, a time limit, resource limits, stderr summarised.
        .target(
            name: "EphemeraProcess",
            dependencies: [
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // SQL persistence (SQLite and PostgreSQL through one SQLKit code path), migrations, job queue.
        .target(
            name: "EphemeraStore",
            dependencies: [
                "EphemeraCore",
                "EphemeraProcess",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // ffprobe/ffmpeg pipeline, the media store on disk and the keyring folder.
        .target(
            name: "EphemeraMedia",
            dependencies: [
                "EphemeraCore",
                "EphemeraProcess",
                "CEphemeraIO",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Two Linux calls Swift cannot make directly (openat2 has no glibc wrapper here): opening and reading a
        // file only when neither can wait for the disk, so the ciphertext route may do both on an event loop.
        .target(name: "CEphemeraIO"),
        // Media in an S3-compatible object store: SigV4, the S3 calls we need, and the MediaStore on them.
        .target(
            name: "EphemeraObjectStore",
            dependencies: [
                "EphemeraCore",
                "EphemeraMedia",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Use cases: what a request or a job does (reading, deleting, posting, downloading, accounts), in terms of
        // Core's rules and ports and the stores; no HTTP, no SQL text. API controllers and web pages both call it.
        .target(
            name: "EphemeraUseCases",
            dependencies: [
                "EphemeraCore",
                "EphemeraStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Long-running services: media processing, expiry sweeper.
        .target(
            name: "EphemeraWorkers",
            dependencies: [
                "EphemeraCore",
                "EphemeraStore",
                "EphemeraMedia",
                "EphemeraProcess",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The streaming multipart/form-data parser of posting: apart from the app so that it can be fuzzed
        // without building the app.
        .target(
            name: "EphemeraMultipart",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // HTTP: the composition root, request context, controllers, web pages.
        .target(
            name: "EphemeraApp",
            dependencies: [
                .product(name: "Prometheus", package: "swift-prometheus"),
                "EphemeraCore",
                "EphemeraMultipart",
                "EphemeraStore",
                "EphemeraMedia",
                "EphemeraObjectStore",
                "EphemeraWorkers",
                "EphemeraProcess",
                "EphemeraUseCases",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            // Templates, CSS and JavaScript are compiled into the binary: one file to deploy, no asset folder.
            resources: [.embedInCode("Web/Templates"), .embedInCode("Web/Static"), .embedInCode("Web/Catalogues"), .embedInCode("OpenAPI")],
            swiftSettings: swiftSettings
        ),
        // The `ephemera` command.
        .executableTarget(
            name: "ephemera",
            dependencies: [
                "EphemeraApp",
                "EphemeraStore",
                "EphemeraMedia",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // What each fuzz target does with its input (issue 18): the parsers of what arrives from the network, with
        // the properties their results must have. The fuzz executables below call it; so do the regression tests,
        // on the kept corpus.
        .target(
            name: "EphemeraFuzzing",
            dependencies: ["EphemeraCore", "EphemeraMultipart", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
    ] + fuzzTargets.map { name in
        // One libFuzzer target per parser (`script/fuzz` builds them with --sanitize=fuzzer); in a plain build
        // each is an executable that does nothing.
        .executableTarget(name: "Fuzz" + name, dependencies: ["EphemeraFuzzing"], path: "Sources/Fuzz/" + name,
                          swiftSettings: swiftSettings)
    } + [
        // Test clock, temporary databases, media fixtures made with ffmpeg, API client helpers.
        .target(
            name: "EphemeraTestSupport",
            dependencies: [
                "EphemeraApp",
                "EphemeraCore",
                "EphemeraMedia",
                "EphemeraObjectStore",
                "EphemeraProcess",
                .product(name: "Logging", package: "swift-log"),
                "EphemeraStore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EphemeraCoreTests",
            dependencies: ["EphemeraCore", "EphemeraObjectStore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EphemeraAppTests",
            dependencies: [
                "EphemeraApp",
                "EphemeraFuzzing",
                "EphemeraMedia",
                "EphemeraMultipart",
                "EphemeraProcess",
                "EphemeraWorkers",
                "EphemeraTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
