import CEphemeraIO
import Glibc
import EphemeraCore
import NIOCore
import Synchronization

/// Reading byte ranges of immutable files for responses (the ciphertext route), at a fixed cost per request and
/// a bounded memory per connection.
///
/// A small range is open, `fstat`, `pread`, close. A large one reads `chunk` bytes at a time, the next only when
/// the caller asks (after the previous one was written to the client), so a slow reader holds one chunk, never
/// the file.
///
/// Where it cannot wait for the disk, this runs on the caller's thread: the open only resolves a path the
/// kernel's lookup cache holds (`openat2` with `RESOLVE_CACHED`), and a read takes only what the page cache holds
/// (`preadv2` with `RWF_NOWAIT`). Whatever would wait — a path or bytes not cached, or a kernel without these —
/// goes to `BlockingIO`'s read pool instead. The trip to the pool and back was most of a small range's cost
/// (0.31 of nginx at 64 KiB with every range on the pool, 0.48 with the first chunk read in place).
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
        switch try openCached(path, chunk: chunk, choose: choose) {
        case .done(let opened): return opened
        case .wouldWait: break
        }
        return try await BlockingIO.read {
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                if errno == ENOENT || errno == ENOTDIR { return nil }
                throw EphemeraError.mediaStoreUnavailable
            }
            return try opened(fd, chunk: chunk, choose: choose, read: readFully)
        }
    }

    /// What `openCached` did: all of `open`'s work, or nothing because some of it would have waited.
    public enum Attempt {
        case done(Opened?)
        case wouldWait
    }

    /// `open` without waiting for the disk, or `.wouldWait` (nothing is left open then). `whole`: only a range
    /// that fits in one `chunk` is read (`rest` is then always nil); a longer one is `.wouldWait` too, read nothing.
    public static func openCached(_ path: String, chunk: Int, whole: Bool = false,
                                  choose: @Sendable (_ size: Int64) -> ClosedRange<Int64>?) throws -> Attempt {
        let fd = ephemera_open_cached(path)
        guard fd >= 0 else {
            // The cache knows there is no such file; anything else (not cached, unsupported) goes to the pool.
            if errno == ENOENT || errno == ENOTDIR { return .done(nil) }
            return .wouldWait
        }
        do {
            return .done(try opened(fd, chunk: chunk, whole: whole, choose: choose, read: readCached))
        } catch is WouldWait {
            return .wouldWait
        }
    }

    /// Reads exactly `length` bytes at `offset` from the page cache, or throws `WouldWait` (nothing read counts).
    static func readCached(_ fd: Int32, offset: Int64, length: Int) throws -> ByteBuffer {
        // Nothing read without waiting: not cached (EAGAIN), unsupported, the end of a file that shrank, an error.
        try readExactly(fd, offset: offset, length: length, failure: WouldWait(), with: ephemera_pread_nowait)
    }

    struct WouldWait: Error {}

    /// What `open` returns for the open file `fd` (closed unless more of the range remains), reading with `read`.
    /// Closes `fd` when it throws; throws `WouldWait` when `whole` and the range is longer than `chunk`.
    static func opened(_ fd: Int32, chunk: Int, whole: Bool = false, choose: @Sendable (_ size: Int64) -> ClosedRange<Int64>?,
                       read: (Int32, Int64, Int) throws -> ByteBuffer) throws -> Opened? {
        do {
            var status = stat()
            guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { close(fd); return nil }
            let size = Int64(status.st_size)
            guard let range = choose(size), size > 0 else {
                close(fd)
                return Opened(size: size, range: nil, first: ByteBuffer(), rest: nil)
            }
            let total = range.upperBound - range.lowerBound + 1
            if whole && total > Int64(chunk) { throw WouldWait() }
            let firstLength = Int(min(total, Int64(chunk)))
            let first = try read(fd, range.lowerBound, firstLength)
            if Int64(firstLength) == total {
                close(fd)
                return Opened(size: size, range: range, first: first, rest: nil)
            }
            let rest = RangeReader(fd: fd, next: range.lowerBound + Int64(firstLength), end: range.upperBound, chunk: chunk)
            return Opened(size: size, range: range, first: first, rest: rest)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Reads exactly `length` bytes at `offset`, or fails with 503 (a file that shrank or cannot be read is never
    /// answered with short content).
    static func readFully(_ fd: Int32, offset: Int64, length: Int) throws -> ByteBuffer {
        try readExactly(fd, offset: offset, length: length, failure: EphemeraError.mediaStoreUnavailable, with: pread)
    }

    /// `length` bytes at `offset` by repeated `read` calls (pread's signature), or `failure` at the first call that
    /// reads nothing or fails other than by an interruption.
    private static func readExactly(_ fd: Int32, offset: Int64, length: Int, failure: some Error,
                                    with read: (Int32, UnsafeMutableRawPointer?, Int, off_t) -> Int) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: length)
        let done = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { raw -> Int in
            var done = 0
            while done < length {
                let n = read(fd, raw.baseAddress! + done, length - done, off_t(offset) + off_t(done))
                if n > 0 { done += n; continue }
                if n < 0 && errno == EINTR { continue }
                throw failure
            }
            return done
        }
        precondition(done == length)
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
        // From the page cache in place when it holds the chunk, else on the read pool.
        let buffer: ByteBuffer
        do {
            buffer = try FileRanges.readCached(fd, offset: offset, length: length)
        } catch is FileRanges.WouldWait {
            buffer = try await BlockingIO.read { try FileRanges.readFully(fd, offset: offset, length: length) }
        }
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
