import ArgumentParser
import Foundation

/// The `ephemera` command: the server and its operator commands, and the client commands that talk to a
/// server over HTTP. Exit codes: 0 ok, 1 failure, 2 usage.
@main
struct Ephemera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ephemera",
        abstract: "Ephemera: self-hosted stories that vanish after a day.",
        subcommands: [
            Serve.self, Migrate.self, Audit.self, Backup.self, RestoreBackup.self, KeyringBackup.self,
            Login.self, Logout.self, Post.self, Tray.self, Story.self, Download.self, Delete.self, Restore.self,
            RecentlyDeleted.self, User.self,
        ])

    static func main() async {
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
