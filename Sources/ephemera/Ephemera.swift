import ArgumentParser

/// The `ephemera` command.
@main
struct Ephemera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ephemera",
        abstract: "Ephemera: self-hosted stories that vanish after a day.",
        subcommands: [Serve.self, Migrate.self, Audit.self, Backup.self, RestoreBackup.self, KeyringBackup.self])
}
