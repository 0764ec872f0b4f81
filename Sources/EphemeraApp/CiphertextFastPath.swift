import EphemeraCore
import EphemeraMedia
import Glibc
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Answers the commonest ciphertext request — a GET of a range that fits in one chunk of a file the page cache
/// holds — on the event loop that read it, in the channel pipeline, before the request reaches the router.
///
/// Such a request reads no database and waits for nothing (`FileRanges.openCached`), so what it costs is the
/// framework's per-request work: a request crossing into Swift concurrency, the router, the middleware chain and
/// the response writer back. At 64 KiB that was most of the time (nginx answered 38,000 such ranges a second on
/// two cores, the router path 14,000–19,000). The answer is the router's own — `CiphertextController` resolves the
/// link, picks the range and builds the head for both paths, and the security headers, request id, `Date`,
/// `Server`, log line and metrics are added as the middlewares and the application add them — so the only
/// difference is where it runs.
///
/// Everything else goes on to the router unchanged: another method or path, `Connection: close`, a link that is
/// not valid, a file that is not there or not cached, a range longer than a chunk, anything but a 200, 206 or
/// 304 (errors come from the router, in the API's error shape). And it steps aside while the router is still
/// answering an earlier request of the connection (HTTP/1.1 answers in order) or while the connection is not
/// writable (a client that does not read gets the router's backpressure, not a growing queue).
final class CiphertextFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// What the handlers of every connection share.
    struct Shared: Sendable {
        let controller: CiphertextController
        let security: SecurityHeadersMiddleware
        let log: RequestLogMiddleware
        let serverName: String
    }

    private let shared: Shared
    /// Requests passed on to the router whose response has not ended yet.
    private var forwarded = 0
    /// The rest of a request answered here (its `.end`) is not passed on.
    private var discarding = false

    init(_ shared: Shared) {
        self.shared = shared
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if discarding {
            if case .end = part { discarding = false }
            return
        }
        if case .head(let request) = part {
            if forwarded == 0, context.channel.isWritable, let (head, body) = answer(request) {
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                if let body { context.write(wrapOutboundOut(.body(body)), promise: nil) }
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                discarding = true
                return
            }
            forwarded += 1
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { forwarded = max(0, forwarded - 1) }
        context.write(data, promise: promise)
    }

    /// The whole answer to `request` when it can be given here without waiting; nil to leave it to the router.
    func answer(_ request: HTTPRequest) -> (HTTPResponse, ByteBuffer?)? {
        guard request.method == .get, !Self.closes(request), let target = request.path,
              let (id, token, rendition) = Self.parts(of: target) else { return nil }
        let started = ContinuousClock.now
        guard let resolved = shared.controller.resolve(id: id, token: token, rendition: rendition) else { return nil }
        let etag = resolved.link.etag
        guard case .done(let found)? = try? FileRanges.openCached(resolved.path, chunk: CiphertextController.chunk, whole: true,
                                                                  choose: { size in
            CiphertextController.chooseRange(request, etag: etag, size: size)
        }), let opened = found else { return nil }
        var (head, hasBody) = CiphertextController.head(for: request, resolved, opened: opened)
        guard [.ok, .partialContent, .notModified].contains(head.status) else { return nil }
        let requestID = request.headerFields[.xRequestID].flatMap(RequestLogMiddleware.acceptable) ?? RequestLogMiddleware.newID()
        head.headerFields[.xRequestID] = requestID
        shared.security.apply(to: &head.headerFields, path: target)
        head.headerFields[.date] = HTTPDate.now()
        head.headerFields[.server] = shared.serverName
        let body = hasBody ? opened.first : nil
        shared.log.metrics.ciphertextInPlace.increment()
        shared.log.log(method: request.method, path: target, route: CiphertextController.route, status: head.status.code,
                       id: requestID, since: started, bytes: body?.readableBytes ?? 0)
        return (head, body)
    }

    /// Whether the request asks for the connection to close after its answer (the router's side closes it).
    static func closes(_ request: HTTPRequest) -> Bool {
        request.headerFields[values: .connection].contains { value in
            headerListItems(value).contains { $0.lowercased() == "close" }
        }
    }

    /// `/ciphertext/{id}/{token}/{rendition}` split into its three parts; nil for any other target, and for one
    /// with a query or an escape (the router decides those).
    static func parts(of target: String) -> (String, String, String)? {
        guard target.hasPrefix("/ciphertext/"), !target.utf8.contains(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "%") })
        else { return nil }
        let parts = target.utf8.dropFirst("/ciphertext/".utf8.count).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        return (String(Substring(parts[0])), String(Substring(parts[1])), String(Substring(parts[2])))
    }
}

/// The `Date` header's value (RFC 9110, IMF-fixdate), made once a second.
enum HTTPDate {
    private static let cache = Mutex<(second: Int, text: String)>((-1, ""))
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func now() -> String {
        var seconds = time(nil)
        if let text = cache.withLock({ $0.second == seconds ? $0.text : nil }) { return text }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let text = "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(1900 + parts.tm_year) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
        cache.withLock { $0 = (seconds, text) }
        return text
    }
}
