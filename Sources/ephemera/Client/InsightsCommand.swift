import ArgumentParser
import Foundation

/// `ephemera insights ID`: one of my segments' insights, counts only.
struct Insights: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one of your segments' insights: impressions, reach, completion rate, taps, exits and more.")

    @OptionGroup var options: ClientOptions
    @Argument(help: "The segment id.") var id: String

    /// `GET /api/v1/stories/{id}/insights`.
    struct Reply: Decodable {
        var impressions: Int
        var reach: Int
        var completionRate: Double
        var tapsForward: Int
        var tapsBack: Int
        var exits: Int
        var replies: Int
        var reactions: Int
        var shares: Int
        var downloads: Int
        var viewsByHour: [Int]
    }

    func run() async throws {
        let reply = try await APIClient(try options.signedIn()).json("GET", "/api/v1/stories/\(id)/insights")
        let insights = try reply.decoded(Reply.self)
        print(Self.table(insights))
    }

    static func table(_ insights: Reply) -> String {
        let rows: [(String, String)] = [
            ("Impressions", "\(insights.impressions)"), ("Reach", "\(insights.reach)"),
            ("Completion rate", "\(Int((insights.completionRate * 100).rounded()))%"),
            ("Taps forward", "\(insights.tapsForward)"), ("Taps back", "\(insights.tapsBack)"), ("Exits", "\(insights.exits)"),
            ("Replies", "\(insights.replies)"), ("Reactions", "\(insights.reactions)"), ("Shares", "\(insights.shares)"),
            ("Downloads", "\(insights.downloads)"),
            ("Views by hour", sparkline(insights.viewsByHour) + "  (\(insights.viewsByHour.map(String.init).joined(separator: " ")))"),
        ]
        return rows.map { $0.0.padding(toLength: 16, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
    }

    /// A bar a character per hour, ▁ to █.
    static func sparkline(_ values: [Int]) -> String {
        let bars = Array("▁▂▃▄▅▆▇█")
        let most = max(1, values.max() ?? 1)
        return String(values.map { bars[min(bars.count - 1, $0 * (bars.count - 1) / most)] })
    }
}
