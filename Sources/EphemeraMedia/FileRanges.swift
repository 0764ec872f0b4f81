import Glibc
import EphemeraCore
import NIOCore
import Synchronization

/// Reading byte ranges of immutable files for responses (the ciphertext route), at a fixed cost per request and
/// a bounded memory per connection.
///
/// A small range costs one trip to the read pool: open, `fstat`, `pread`, close. A large one reads `chunk`
/// bytes a trip, the next only when the caller asks (after the previous one was written to the client), so a
/// slow reader holds one chunk, never the file. Everything blocking runs on `BlockingIO`'s read pool.
public enum FileRanges {
    /// What `open` found: the file's size and the start of the range (`first`); `rest` reads what follows.
    public struct Opened: Sendable {
        public let size: Int64
        /// The range `choose` picked for this size, nil when it picked none (nothing was read).
        public let range: ClosedRange<Int64>?
        /// The first bytes of `range`: all of it when it fits in one chunk.
        public let first: ByteBuffer
        /// The open file when more of `range` remains to read after `first`; closed when released.
        public let rest: RangeReader?
    }

    /// Opens `path` and reads the first chunk of the range `choose` picks from the file's size; nil when there is
    /// no regular file at `path` (never stored, or purged). The file stays open only when more remains.
    public static func open(_ path: String, chunk: Int = 256 * 1024,
                            choose: @escaping @Sendable (_ size: Int64) -> ClosedRange<Int64>?) async throws -> Opened? {
        try await BlockingIO.read {
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                if errno == ENOENT || errno == ENOTDIR { return nil }
                throw EphemeraError.mediaStoreUnavailable
            }
            var status = stat()
            guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { close(fd); return nil }
            let size = Int64(status.st_size)
            guard let range = choose(size), size > 0 else {
                close(fd)
                return Opened(size: size, range: nil, first: ByteBuffer(), rest: nil)
            }
            let total = range.upperBound - range.lowerBound + 1
            let firstLength = Int(min(total, Int64(chunk)))
            let first: ByteBuffer
            do { first = try readFully(fd, offset: range.lowerBound, length: firstLength) } catch { close(fd); throw error }
            if Int64(firstLength) == total {
                close(fd)
                return Opened(size: size, range: range, first: first, rest: nil)
            }
            let rest = RangeReader(fd: fd, next: range.lowerBound + Int64(firstLength), end: range.upperBound, chunk: chunk)
            return Opened(size: size, range: range, first: first, rest: rest)
        }
    }

    /// Reads exactly `length` bytes at `offset`, or fails with 503 (a file that shrank or cannot be read is never
    /// answered with short content).
    static func readFully(_ fd: Int32, offset: Int64, length: Int) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: length)
        let read = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { raw -> Int in
            var done = 0
            while done < length {
                let n = pread(fd, raw.baseAddress! + done, length - done, off_t(offset) + off_t(done))
                if n > 0 { done += n; continue }
                if n < 0 && errno == EINTR { continue }
                throw EphemeraError.mediaStoreUnavailable
            }
            return done
        }
        precondition(read == length)
        return buffer
    }
}

/// The rest of a range of an open file, a chunk at a time. Closes the file when the range is read, on `close()`,
/// or when released — whichever comes first — so an abandoned response leaks no descriptor.
public final class RangeReader: Sendable {
    private struct State { var fd: Int32; var next: Int64 }
    private let state: Mutex<State>
    private let end: Int64
    private let chunk: Int

    init(fd: Int32, next: Int64, end: Int64, chunk: Int) {
        self.state = Mutex(State(fd: fd, next: next))
        self.end = end
        self.chunk = chunk
    }

    /// The next chunk, or nil when the range has been read (the file is then closed).
    public func next() async throws -> ByteBuffer? {
        let (fd, offset) = state.withLock { ($0.fd, $0.next) }
        guard fd >= 0, offset <= end else { close(); return nil }
        let length = Int(min(Int64(chunk), end - offset + 1))
        let buffer = try await BlockingIO.read { try FileRanges.readFully(fd, offset: offset, length: length) }
        state.withLock { $0.next = offset + Int64(length) }
        return buffer
    }

    public func close() {
        let fd = state.withLock { state -> Int32 in
            let fd = state.fd
            state.fd = -1
            return fd
        }
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    deinit { close() }
}
