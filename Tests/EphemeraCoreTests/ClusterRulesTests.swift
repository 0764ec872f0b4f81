import EphemeraCore
import Testing

@Suite struct TrustedProxiesTests {
    @Test func addressBlocksParseAndMatch() throws {
        let private10 = try #require(AddressBlock("10.0.0.0/8"))
        #expect(private10.contains(try #require(IPAddress.bytes("10.200.3.4"))))
        #expect(!private10.contains(try #require(IPAddress.bytes("11.0.0.1"))))
        // An IPv4-mapped IPv6 peer matches its IPv4 block.
        #expect(private10.contains(try #require(IPAddress.bytes("::ffff:10.1.2.3"))))
        let loopback6 = try #require(AddressBlock("::1"))
        let one = try #require(IPAddress.bytes("0:0:0:0:0:0:0:1"))
        #expect(loopback6.prefixLength == 128 && loopback6.contains(one))
        let odd = try #require(AddressBlock("192.168.4.0/22"))
        #expect(odd.contains(try #require(IPAddress.bytes("192.168.7.255"))))
        #expect(!odd.contains(try #require(IPAddress.bytes("192.168.8.0"))))
        let unique = try #require(AddressBlock("fd00::/8"))
        #expect(unique.contains(try #require(IPAddress.bytes("fd12:3456::1"))))
        for bad in ["", "10.0.0.0/33", "10.0.0", "256.1.1.1", "01.2.3.4", "10.0.0.0/", "example.com", "::1/129", "1:2:3:4:5:6:7:8:9",
                    "1::2::3", "10.0.0.0/8/8", "10.0.0.0/-1"] {
            #expect(AddressBlock(bad) == nil, "\(bad)")
        }
        #expect(IPAddress.bytes("2001:db8::7") == [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [7])
    }

    @Test func theClientIsTheRightmostHopNoTrustedProxyAdded() throws {
        let proxies = try TrustedProxies.parse("127.0.0.1/32, 10.0.0.0/8").get()
        // No trusted peer: the header is the client's own words, ignored.
        #expect(proxies.clientAddress(peer: "203.0.113.9", forwardedFor: ["1.2.3.4"]) == "203.0.113.9")
        // Behind the balancer: the address it saw.
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["198.51.100.7"]) == "198.51.100.7")
        // A client that sends its own header cannot choose: the hop the trusted proxy appended wins.
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["6.6.6.6, 198.51.100.7"]) == "198.51.100.7")
        // Two trusted hops, across two header lines.
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["6.6.6.6, 198.51.100.7", "10.1.1.1"]) == "198.51.100.7")
        // A client's last character cannot swallow the comma the proxy writes after it: U+0604 (a prepended
        // mark) and a comma are one Swift Character, but two list items.
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["6.6.6.6\u{604}, 198.51.100.7"]) == "198.51.100.7")
        #expect(headerListItems(" a\u{604},b ,, c\u{301}") == ["a\u{604}", "b", "c\u{301}"])
        // Garbage stops the walk at the last trusted hop, never believed as an address.
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["<script>"]) == "127.0.0.1")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: []) == "127.0.0.1")
        #expect(proxies.clientAddress(peer: nil, forwardedFor: ["1.2.3.4"]) == nil)
        if case .failure(let bad) = TrustedProxies.parse("10.0.0.0/8,nginx,1.2.3.4/40") {
            #expect(bad.entries == ["nginx", "1.2.3.4/40"])
        } else {
            Issue.record("bad entries were accepted")
        }
    }

    @Test func rolesSayWhatANodeRuns() {
        #expect(NodeRole.all.servesRequests && NodeRole.all.runsJobs)
        #expect(NodeRole.web.servesRequests && !NodeRole.web.runsJobs)
        #expect(!NodeRole.worker.servesRequests && NodeRole.worker.runsJobs)
    }

    @Test func bucketsAreTakenTogetherOrNotAtAll() {
        let now = Instant(milliseconds: 1_000_000)
        let tight = RateLimit(burst: 1, perMinute: 1)
        let loose = RateLimit(burst: 5, perMinute: 60)
        let requests = [RateBucketRequest(key: "a", limit: tight), RateBucketRequest(key: "b", limit: loose)]
        guard case .success(let first) = TokenBucket.takeAll(requests, from: [:], now: now) else {
            Issue.record("full buckets refused")
            return
        }
        #expect(first["a"]?.tokens == 0 && first["b"]?.tokens == 4)
        guard case .failure(let wait) = TokenBucket.takeAll(requests, from: first, now: now) else {
            Issue.record("an empty bucket gave a token")
            return
        }
        #expect(wait.seconds == 60)
        // A minute later the tight bucket has one again.
        guard case .success(let later) = TokenBucket.takeAll(requests, from: first, now: now + .seconds(60)) else {
            Issue.record("a refilled bucket refused")
            return
        }
        #expect(later["a"]?.tokens == 0 && later["b"]?.tokens == 4)
    }
}
