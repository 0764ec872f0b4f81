import Foundation
import Logging
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs every helper program Ephemera starts (ffmpeg, ffprobe, pg_dump, pg_restore, tar), the one way: an
/// argument array and never a shell, a wall-clock time limit, CPU-time and memory limits where given (through
/// util-linux `prlimit` when present), no network where asked (`NetworkIsolation`), and stderr captured and
/// summarised into the error.
public struct ProcessRunner: Sendable {
    public struct Limits: Sendable, Hashable {
        public var wallSeconds: Double
        public var cpuSeconds: Int?
        public var memoryBytes: Int64?

        public init(wallSeconds: Double, cpuSeconds: Int? = nil, memoryBytes: Int64? = nil) {
            self.wallSeconds = wallSeconds
            self.cpuSeconds = cpuSeconds
            self.memoryBytes = memoryBytes
        }
    }

    /// A run that did not exit 0, or took too long.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var program: String
        public var status: String
        /// The last lines of stderr.
        public var summary: String
        public var timedOut: Bool

        public init(program: String, status: String, summary: String, timedOut: Bool) {
            self.program = program
            self.status = status
            self.summary = summary
            self.timedOut = timedOut
        }

        public var description: String {
            timedOut ? "\(program) did not finish in time" : "\(program) failed (\(status)): \(summary)"
        }
    }

    public struct Output: Sendable {
        public var standardOutput: String
        public var standardError: String
    }

    let prlimit: String?
    public let logger: Logger
    /// Where its helpers run: ffmpeg's and ffprobe's runner has them in a network namespace of their own.
    public let network: NetworkIsolation

    public init(logger: Logger, network: NetworkIsolation = .shared) {
        self.logger = logger
        self.network = network
        self.prlimit = ["/usr/bin/prlimit", "/bin/prlimit"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `program` with `arguments` under `limits`; returns its output when it exits 0.
    public func run(_ program: String, _ arguments: [String], limits: Limits) async throws -> Output {
        var executable = program
        var args = arguments
        var limitArguments: [String] = []
        if let cpu = limits.cpuSeconds { limitArguments.append("--cpu=\(cpu)") }
        if let memory = limits.memoryBytes { limitArguments.append("--as=\(memory)") }
        let limited = prlimit != nil && !limitArguments.isEmpty
        if limited, let prlimit {
            executable = prlimit
            args = limitArguments + ["--", program] + arguments
        }
        let isolated = network.command(executable, args)
        let started = ContinuousClock.now
        let command: Executable = limited || isolated.program != executable ? .path(FilePath(isolated.program)) : .name(executable)
        let commandArguments = Arguments(isolated.arguments)
        let result = try await withThrowingTaskGroup(of: Output?.self) { group in
            group.addTask {
                let result = try await Subprocess.run(
                    command,
                    arguments: commandArguments,
                    environment: .inherit,
                    input: .none,
                    output: .string(limit: 4 * 1024 * 1024),
                    error: .string(limit: 4 * 1024 * 1024))
                let stdout = result.standardOutput
                let stderr = result.standardError
                guard result.terminationStatus.isSuccess else {
                    throw Failure(program: program, status: "\(result.terminationStatus)",
                                  summary: Self.summarise(stderr), timedOut: false)
                }
                return Output(standardOutput: stdout, standardError: stderr)
            }
            group.addTask {
                try await Task.sleep(for: .seconds(limits.wallSeconds))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let output = first else {
                throw Failure(program: program, status: "timeout", summary: "", timedOut: true)
            }
            return output
        }
        logger.debug("\(program) finished", metadata: ["seconds": "\(ContinuousClock.now - started)"])
        return result
    }

    /// The last few meaningful lines of stderr, short enough for a log line or an error message.
    static func summarise(_ stderr: String) -> String {
        let lines = stderr.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        return lines.suffix(3).joined(separator: " | ").prefix(500).description
    }
}
