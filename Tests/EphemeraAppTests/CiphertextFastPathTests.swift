import EphemeraCore
import EphemeraTestSupport
import Foundation
import HTTPTypes
import NIOCore
import NIOPosix
import Testing

/// `CiphertextFastPath`: small ciphertext ranges are answered in the channel pipeline of the real HTTP server,
/// with exactly the router's answer, and never out of turn.
@Suite struct CiphertextFastPathTests {
    /// The in-place answers counted so far (`ephemera_ciphertext_in_place_total`).
    static func answeredInPlace(_ app: TestApp) async throws -> Double {
        let scrape = try await app.request(.get, "/metrics")
        #expect(scrape.status == .ok)
        return MetricsTests.value(MetricsTests.samples(scrape.text), "ephemera_ciphertext_in_place_total") ?? -1
    }

    @Test func smallRangesAreAnsweredInPlaceExactlyAsTheRouterAnswersThem() async throws {
        try await TestApp.run(.sqlite, live: true) { app in
            let alice = try await app.signUp("alice")
            let video = try await app.postLive(alice, file: try await MediaFixtures.shared.video(seconds: 2))[0]
            let photo = try await app.postLive(alice, file: try await MediaFixtures.shared.photo())[0]
            var links: [String] = []
            for id in [video, photo] {
                let segment = try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self)
                let media = try #require(segment.encryptedMedia)
                links += [media.video, media.photo, media.poster].compactMap { $0 }
            }
            let paths = links.map { String($0.dropFirst(app.services.publicURL.count)) }
            #expect(paths.count >= 3 && paths.allSatisfy { $0.hasPrefix("/ciphertext/") })
            let etag = try #require(try await app.request(.get, paths[0]).headers[.eTag])

            let cases: [HTTPFields] = [
                [:], [.range: "bytes=0-65535"], [.range: "bytes=100-"], [.range: "bytes=-500"], [.range: "bytes=5-9, 20-30"],
                [.range: "bytes=0-999999999"], [.range: "bytes=999999999-"], [.range: "bytes=x-5"],
                [.ifNoneMatch: etag], [.ifNoneMatch: "\"other\""], [.range: "bytes=0-9", .ifRange: etag],
                [.range: "bytes=0-9", .ifRange: "\"other\""], [.range: "bytes=0-9", .xRequestID: "trace-1"],
                [.range: "bytes=0-9", .connection: "keep-alive"],
            ]
            var expectedInPlace = 0
            let before = try await Self.answeredInPlace(app)
            for path in paths {
                for headers in cases {
                    // The same request with a query goes to the router (the fast path leaves those alone).
                    let fast = try await app.request(.get, path, headers: headers)
                    let routed = try await app.request(.get, path + "?via=router", headers: headers)
                    #expect(fast.status == routed.status, "\(path) \(headers)")
                    #expect(fast.body == routed.body, "\(path) \(headers)")
                    #expect(Self.comparable(fast.headers) == Self.comparable(routed.headers), "\(path) \(headers)")
                    #expect(fast.headers[.date] != nil && fast.headers[.xRequestID] != nil)
                    if let sent = headers[.xRequestID] { #expect(fast.headers[.xRequestID] == sent) }
                    // Answered in place: a 200, 206 or 304 of at most one chunk.
                    if [200, 206, 304].contains(fast.status.code), fast.body.readableBytes <= 256 * 1024 {
                        expectedInPlace += 1
                    }
                }
            }
            #expect(expectedInPlace >= 20, "the cases exercise the fast path")
            #expect(try await Self.answeredInPlace(app) - before == Double(expectedInPlace))
            // A forged link is the router's 404, in the API's error shape.
            let forged = try await app.request(.get, paths[0].replacingOccurrences(of: ".", with: "x"))
            #expect(forged.status == .notFound)
            #expect(try forged.decode(API.ErrorBody.self).error.code == "not_found")
        }
    }

    @Test func pipelinedRequestsAreAnsweredInTheOrderTheyCame() async throws {
        try await TestApp.run(.sqlite, live: true) { app in
            let alice = try await app.signUp("alice")
            let photo = try await app.postLive(alice, file: try await MediaFixtures.shared.photo())[0]
            let segment = try await app.request(.get, "/api/v1/stories/\(photo)", token: alice).decode(API.Segment.self)
            let path = String(try #require(segment.encryptedMedia?.photo).dropFirst(app.services.publicURL.count))
            let port = try #require(app.client.port)
            let before = try await Self.answeredInPlace(app)
            // Three requests in one write: the router's first, then a range the fast path would answer on its own,
            // then the router's again. HTTP/1.1 answers them in that order.
            let requests = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
                + "GET \(path) HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-9\r\n\r\n"
                + "GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            let answers = try await Self.exchange(port: port, requests)
            #expect(answers.map(\.status) == [200, 206, 200])
            #expect(answers.count == 3 && answers[1].body.count == 10 && answers[1].body.starts(with: Array("EPH1".utf8)))
            #expect(answers.first?.body == Array(#"{"status":"ok"}"#.utf8))
            // Behind a request the router was answering, the range went to the router too.
            #expect(try await Self.answeredInPlace(app) == before)

            // On its own, the same range is answered in place; asked to close the connection after it, the router
            // answers (and closes it).
            let alone = try await Self.exchange(
                port: port, "GET \(path) HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-9\r\n\r\n"
                    + "GET \(path) HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-9\r\nConnection: close\r\n\r\n")
            #expect(alone.map(\.status) == [206, 206])
            #expect(try await Self.answeredInPlace(app) == before + 1)
        }
    }

    /// The headers that must agree between the two paths (not the per-response `Date` and request id).
    static func comparable(_ headers: HTTPFields) -> [String: String] {
        var fields: [String: String] = [:]
        for field in headers where ![.date, .xRequestID].contains(field.name) {
            fields[field.name.canonicalName, default: ""] += field.value + ";"
        }
        return fields
    }

    /// Writes `text` to a new connection to the server, reads until the server closes it, and splits what came
    /// into responses (status and body, by `Content-Length`).
    static func exchange(port: Int, _ text: String) async throws -> [(status: Int, body: [UInt8])] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "localhost", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: text))
            var received: [UInt8] = []
            for try await chunk in inbound { received += chunk.readableBytesView }
            return try responses(in: received)
        }
    }

    static func responses(in bytes: [UInt8]) throws -> [(status: Int, body: [UInt8])] {
        var responses: [(status: Int, body: [UInt8])] = []
        var rest = bytes[...]
        let separator = Array("\r\n\r\n".utf8)
        while !rest.isEmpty {
            let end = try #require(rest.indices.first { rest[$0...].starts(with: separator) }, "a complete head")
            let lines = String(decoding: rest[..<end], as: UTF8.self).components(separatedBy: "\r\n")
            let status = try #require(lines.first.flatMap { Int($0.split(separator: " ")[1]) })
            let length = lines.dropFirst().compactMap { line -> Int? in
                let parts = line.split(separator: ":", maxSplits: 1)
                return parts.count == 2 && parts[0].lowercased() == "content-length"
                    ? Int(parts[1].trimmingCharacters(in: .whitespaces)) : nil
            }.first ?? 0
            let bodyStart = end + separator.count
            responses.append((status, Array(rest[bodyStart..<(bodyStart + length)])))
            rest = rest[(bodyStart + length)...]
        }
        return responses
    }
}

extension HTTPField.Name {
    fileprivate static let xRequestID = Self("X-Request-Id")!
}
