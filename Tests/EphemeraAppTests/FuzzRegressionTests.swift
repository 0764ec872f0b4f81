import EphemeraFuzzing
import Foundation
import Testing

/// The fuzz targets (issue 18) on what `script/fuzz` kept: the corpus of each parser and every input that once
/// crashed one (Tests/fuzz). A regression crashes this test as it crashed the fuzzer.
@Suite struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz")

    /// The inputs of a kept file: one base64 line each, `#` lines are comments.
    static func inputs(_ folder: String, _ name: String) throws -> [[UInt8]] {
        let text = try String(contentsOf: root.appendingPathComponent(folder).appendingPathComponent(name + ".txt"), encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { Data(base64Encoded: String($0)) }
            .map { [UInt8]($0) }
    }

    @Test(arguments: FuzzTargets.all.keys.sorted())
    func theKeptCorpusAndEveryFormerCrashPass(target: String) throws {
        let corpus = try Self.inputs("corpus", target)
        let crashes = try Self.inputs("crashes", target)
        #expect(!corpus.isEmpty, "script/fuzz keeps a corpus for \(target)")
        let fuzz = try #require(FuzzTargets.all[target])
        for input in corpus + crashes { fuzz(input) }
    }
}
