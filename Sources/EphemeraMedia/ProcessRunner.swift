import Foundation
import Logging
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs a helper program (ffmpeg, ffprobe) safely: an argument array and never a shell, a wall-clock time
/// limit, CPU-time and memory limits (through util-linux `prlimit` when present), and stderr captured and
/// summarised into the error.
public struct ProcessRunner: Sendable {
    public struct Limits: Sendable, Hashable {
        public var wallSeconds: Double
        public var cpuSeconds: Int
        public var memoryBytes: Int64

        public init(wallSeconds: Double, cpuSeconds: Int, memoryBytes: Int64) {
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

        /// What the author reads in `failureReason`: no paths, no internals.
        public var authorFacingReason: String {
            timedOut
                ? "Processing took too long and was stopped. Try a shorter or smaller video."
                : "The media could not be converted; the file may be damaged. Export it again and post it anew."
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
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
        self.prlimit = ["/usr/bin/prlimit", "/bin/prlimit"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `program` with `arguments` under `limits`; returns its output when it exits 0.
    public func run(_ program: String, _ arguments: [String], limits: Limits) async throws -> Output {
        var executable = program
        var args = arguments
        if let prlimit {
            executable = prlimit
            args = ["--cpu=\(limits.cpuSeconds)", "--as=\(limits.memoryBytes)", "--", program] + arguments
        }
        let started = ContinuousClock.now
        let command: Executable = prlimit != nil ? .path(FilePath(executable)) : .name(executable)
        let commandArguments = Arguments(args)
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
