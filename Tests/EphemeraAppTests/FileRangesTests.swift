import EphemeraMedia
import Foundation
import NIOCore
import Testing

/// How the ciphertext route reads files: exactly the chosen bytes, a chunk at a time, nothing for a missing file.
@Suite struct FileRangesTests {
    static func withFile(_ bytes: [UInt8], _ body: (String) async throws -> Void) async throws {
        let path = NSTemporaryDirectory() + "ranges-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await body(path)
    }

    static func readAll(_ opened: FileRanges.Opened) async throws -> (bytes: [UInt8], pieces: [Int]) {
        var bytes = Array(opened.first.readableBytesView)
        var pieces = [opened.first.readableBytes]
        while let chunk = try await opened.rest?.next() {
            bytes += chunk.readableBytesView
            pieces.append(chunk.readableBytes)
        }
        return (bytes, pieces)
    }

    @Test func aLargeRangeIsReadAChunkAtATimeAndExactly() async throws {
        let content = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        try await Self.withFile(content) { path in
            let opened = try #require(try await FileRanges.open(path, chunk: 1_000) { size in
                #expect(size == 5_000)
                return 100...4_321
            })
            #expect(opened.size == 5_000 && opened.range == 100...4_321 && opened.rest != nil)
            let (bytes, pieces) = try await Self.readAll(opened)
            #expect(bytes == Array(content[100...4_321]))
            #expect(pieces == [1_000, 1_000, 1_000, 1_000, 222])
            #expect(try await opened.rest?.next() == nil, "read to the end, and closed")
        }
    }

    @Test func aSmallRangeIsOneReadAndLeavesNothingOpen() async throws {
        let content = Array("EPH1 and some ciphertext".utf8)
        try await Self.withFile(content) { path in
            let opened = try #require(try await FileRanges.open(path, chunk: 1_000) { $0 >= 5 ? 5...($0 - 1) : nil })
            #expect(opened.rest == nil)
            #expect(Array(opened.first.readableBytesView) == Array(content[5...]))
            // No range chosen (a HEAD, a 304, an unsatisfiable range): the size, and nothing read.
            let head = try #require(try await FileRanges.open(path) { _ in nil })
            #expect(head.size == Int64(content.count) && head.range == nil && head.first.readableBytes == 0)
        }
    }

    @Test func bytesTheKernelMustReadFromDiskAreReadOnThePoolAndCachedOnesInPlace() async throws {
        let content = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
        try await Self.withFile(content) { path in
            // Written back, then dropped from the page cache: reading it now means waiting for the disk.
            let fd = open(path, O_RDONLY)
            #expect(fd >= 0)
            #expect(fsync(fd) == 0 && posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0)
            close(fd)
            let choose: @Sendable (Int64) -> ClosedRange<Int64>? = { _ in 1_000...270_000 }
            guard case .wouldWait = try FileRanges.openCached(path, chunk: 64 * 1024, choose: choose) else {
                Issue.record("bytes not in the page cache were read without waiting")
                return
            }
            // `open` goes to the pool for them, and reads exactly the range.
            let slow = try #require(try await FileRanges.open(path, chunk: 64 * 1024, choose: choose))
            #expect(try await Self.readAll(slow).bytes == Array(content[1_000...270_000]))
            // Cached now: the same range without leaving this thread, just as exact.
            guard case .done(let cached?) = try FileRanges.openCached(path, chunk: 64 * 1024, choose: choose) else {
                Issue.record("cached bytes were not read in place")
                return
            }
            #expect(try await Self.readAll(cached).bytes == Array(content[1_000...270_000]))
        }
    }

    @Test func aMissingFileOrAFolderIsNil() async throws {
        #expect(try await FileRanges.open(NSTemporaryDirectory() + "no-such-\(UUID().uuidString)") { _ in 0...0 } == nil)
        #expect(try await FileRanges.open(NSTemporaryDirectory()) { _ in 0...0 } == nil)
    }
}
