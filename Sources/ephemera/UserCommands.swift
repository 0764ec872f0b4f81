import ArgumentParser
import EphemeraApp
import EphemeraCore
import Foundation

/// `ephemera user promote|demote`: operator commands on the server's data folder or database (they need no
/// running server and no session; whoever can read the data folder is the operator).
struct User: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage accounts' roles (operator commands on the data folder or database).",
        subcommands: [Promote.self, Demote.self])

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give an account a role: moderator or admin.")

        @Argument(help: "The account's handle.") var handle: String
        @Option(help: "moderator or admin.") var role: String = "moderator"
        @OptionGroup var options: ServerOptions

        func run() async throws {
            guard let role = Role(rawValue: role.lowercased()), role != .member else {
                throw ValidationError("--role: '\(role)' is not moderator or admin (use 'ephemera user demote' for member)")
            }
            try await User.set(handle: handle, role: role, options: options)
        }
    }

    struct Demote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an account a member again.")

        @Argument(help: "The account's handle.") var handle: String
        @OptionGroup var options: ServerOptions

        func run() async throws {
            try await User.set(handle: handle, role: .member, options: options)
        }
    }

    static func set(handle: String, role: Role, options: ServerOptions) async throws {
        var configuration = try options.configuration()
        configuration.runBackgroundServices = false
        let services = try await AppServices.open(configuration: configuration, clock: SystemClock(), logger: try options.logger())
        let handle = String(handle.trimmingPrefix("@")).lowercased()
        do {
            guard let account = try await services.moderating.assignRole(role, handle: handle) else {
                throw ClientFailure("There is no account @\(handle) in this database (\(configuration.dataDirectory)); check --data-dir or --database-url.")
            }
            await services.shutdown()
            print("@\(handle) is now \(role == .admin ? "an admin" : "a \(role.rawValue)") (was \(account.role.rawValue)). A running server sees the change within 5 seconds.")
        } catch {
            await services.shutdown()
            throw error
        }
    }
}
