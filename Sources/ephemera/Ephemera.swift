import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// The `ephemera` command: the server and its operator commands, and the client commands that talk to a
/// server over HTTP. Exit codes: 0 ok, 1 failure, 2 usage.
@main
struct Ephemera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ephemera",
        abstract: "Ephemera: self-hosted stories that vanish after a day.",
        subcommands: [
            Serve.self, Migrate.self, Audit.self, Backup.self, RestoreBackup.self, KeyringBackup.self,
            Login.self, Logout.self, Post.self, Tray.self, Story.self, Download.self, Edit.self, Delete.self, Restore.self,
            RecentlyDeleted.self, Highlights.self, Insights.self, User.self,
        ])

    static func main() async {
        if CommandLine.arguments.dropFirst().first == "serve" {
            // The server's tasks run on the event loops that do its I/O, not on a pool of their own: a request
            // no longer hops between threads (event loop → task pool → event loop) on its way in and out, which
            // was most of a small request's cost (context switches). Nothing in the server blocks a task's
            // thread: file and database work runs on thread pools of their own (`BlockingIO`, SQLite's pool,
            // bcrypt's). Before anything else, as NIO asks: on the main thread, once.
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as ClientFailure {
            FileHandle.standardError.write(Data("error: \(failure.description)\n".utf8))
            Foundation.exit(1)
        } catch {
            // Usage mistakes exit 2 (ArgumentParser's own convention is 64).
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
