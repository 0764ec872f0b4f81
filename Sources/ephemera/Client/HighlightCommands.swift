import ArgumentParser
import Foundation

/// `ephemera highlight …`: my highlights, the stories I keep on my profile past their 24 hours.
struct Highlights: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "highlight", abstract: "Keep stories on your profile past their 24 hours: list, create, add, rename, delete.",
        subcommands: [List.self, Create.self, Add.self, Rename.self, Delete.self], defaultSubcommand: List.self)

    /// `highlight` and `highlight` with `segments`, as the API gives them.
    struct Reply: Decodable {
        struct Segment: Decodable {
            var id: String
            var state: String
        }
        var id: String
        var title: String
        var segmentCount: Int
        var updatedAt: String
        var segments: [Segment]?
    }

    struct Page: Decodable {
        var items: [Reply]
    }

    static func line(_ highlight: Reply, handle: String, server: String) -> String {
        let count = "\(highlight.segmentCount) stor\(highlight.segmentCount == 1 ? "y" : "ies")"
        return "\(highlight.id)  “\(highlight.title)”  \(count)  \(server)/@\(handle)/highlights/\(highlight.id)"
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List someone's highlights (yours by default), in their order.")

        @OptionGroup var options: ClientOptions
        @Argument(help: "Whose (with or without @); yours when left out.") var handle: String?

        func run() async throws {
            let config = try options.signedIn()
            guard let name = (handle.map { $0.hasPrefix("@") ? String($0.dropFirst()) : $0 }) ?? config.handle else {
                throw ClientFailure("Say whose highlights to list: ephemera highlight list HANDLE")
            }
            let client = APIClient(config)
            let page = try await client.json("GET", "/api/v1/users/\(name)/highlights").decoded(Page.self)
            guard !page.items.isEmpty else {
                print("@\(name) has no highlights you can see.")
                return
            }
            for highlight in page.items { print(Highlights.line(highlight, handle: name, server: client.server)) }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a highlight of your segments (live, expired or archived).")

        @OptionGroup var options: ClientOptions
        @Argument(help: "Its title (1–40 characters).") var title: String
        @Argument(help: "The segment ids, in order.") var ids: [String]
        @Option(help: "The segment whose picture stands for it (default: the first).") var cover: String?

        func run() async throws {
            let config = try options.signedIn()
            var body: [String: Any] = ["title": title, "segmentIds": ids]
            body["coverSegmentId"] = cover
            let client = APIClient(config)
            let made = try await client.json("POST", "/api/v1/me/highlights", body: body).decoded(Reply.self)
            print(Highlights.line(made, handle: config.handle ?? "me", server: client.server))
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add segments at the end of one of your highlights.")

        @OptionGroup var options: ClientOptions
        @Argument(help: "The highlight id.") var highlight: String
        @Argument(help: "The segment ids to add.") var ids: [String]

        func run() async throws {
            let config = try options.signedIn()
            let client = APIClient(config)
            let current = try await client.json("GET", "/api/v1/highlights/\(highlight)").decoded(Reply.self)
            let listed = (current.segments ?? []).map(\.id)
            let changed = try await client.json(
                "PATCH", "/api/v1/highlights/\(highlight)", body: ["segmentIds": listed + ids.filter { !listed.contains($0) }])
                .decoded(Reply.self)
            print(Highlights.line(changed, handle: config.handle ?? "me", server: client.server))
        }
    }

    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename one of your highlights.")

        @OptionGroup var options: ClientOptions
        @Argument(help: "The highlight id.") var highlight: String
        @Argument(help: "Its new title (1–40 characters).") var title: String

        func run() async throws {
            let config = try options.signedIn()
            let client = APIClient(config)
            let changed = try await client.json("PATCH", "/api/v1/highlights/\(highlight)", body: ["title": title])
                .decoded(Reply.self)
            print(Highlights.line(changed, handle: config.handle ?? "me", server: client.server))
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete one of your highlights (its stories stay in your archive).")

        @OptionGroup var options: ClientOptions
        @Argument(help: "The highlight id.") var highlight: String

        func run() async throws {
            try await APIClient(try options.signedIn()).json("DELETE", "/api/v1/highlights/\(highlight)")
            print("Deleted highlight \(highlight). Its stories stay in your archive.")
        }
    }
}
