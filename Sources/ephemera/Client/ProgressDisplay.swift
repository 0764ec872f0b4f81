import Foundation

/// Progress of a transfer on standard error: a bar redrawn in place (bytes, speed, ETA) on a terminal, and
/// plain lines at every 10% otherwise (logs, CI, pipes).
final class ProgressDisplay {
    let label: String
    let total: Int64
    let start: Int64
    let interactive: Bool
    let began = Date()
    var lastDraw = Date.distantPast
    var lastDecile = -1

    /// `start` is what was already there (a resumed transfer): speed counts only what moves now.
    init(label: String, total: Int64, start: Int64 = 0) {
        self.label = label
        self.total = total
        self.start = start
        interactive = isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    func update(_ done: Int64) {
        let now = Date()
        if interactive {
            guard now.timeIntervalSince(lastDraw) >= 0.1 || done >= total else { return }
            lastDraw = now
            let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
            let width = 24
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line = "\r\(label)  \(bar) \(Int(fraction * 100))%  \(Self.bytes(done))/\(Self.bytes(total))  \(speedAndETA(done, now: now))"
            FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
        } else {
            let decile = total > 0 ? Int(Double(done) / Double(total) * 10) : 10
            guard decile > lastDecile else { return }
            lastDecile = decile
            let line = "\(label): \(min(decile * 10, 100))% (\(Self.bytes(done)) of \(Self.bytes(total))) \(speedAndETA(done, now: now))\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    func finish() {
        update(total)
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// While moving: the speed so far and the time left, once a fifth of a second gives an honest estimate.
    /// When done: the average speed and how long it took, however short the transfer was.
    func speedAndETA(_ done: Int64, now: Date) -> String {
        let seconds = now.timeIntervalSince(began)
        let moved = Double(done - start)
        guard seconds > 0, moved > 0 else { return "" }
        let speed = moved / seconds
        if done >= total { return "\(Self.bytes(Int64(speed)))/s  in \(seconds < 10 ? String(format: "%.1fs", seconds) : Self.duration(seconds))" }
        guard seconds > 0.2 else { return "" }
        let left = Double(total - done) / speed
        return "\(Self.bytes(Int64(speed)))/s  ETA \(Self.duration(left))"
    }

    static func bytes(_ count: Int64) -> String {
        let value = Double(count)
        if value >= 1_000_000_000 { return String(format: "%.2f GB", value / 1_000_000_000) }
        if value >= 1_000_000 { return String(format: "%.1f MB", value / 1_000_000) }
        if value >= 1_000 { return String(format: "%.0f KB", value / 1_000) }
        return "\(count) B"
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded(.up))
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
