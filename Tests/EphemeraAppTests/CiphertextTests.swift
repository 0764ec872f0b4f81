import Crypto
import EphemeraCore
import EphemeraMedia
import EphemeraStore
import EphemeraTestSupport
import Foundation
import HTTPTypes
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Media for clients that decrypt (API.md): whoever may see a segment gets its key and links to the ciphertext,
/// served as plain immutable bytes — by Ephemera's own route on the file store, by the object store through a
/// presigned URL — and a purge leaves every copy of that ciphertext unreadable.
@Suite struct CiphertextTests {
    /// Fetches a ciphertext link: through the app on the file store, from the object store itself when presigned.
    static func fetch(_ app: TestApp, _ link: String, headers: HTTPFields = [:]) async throws -> (status: Int, body: Data, headers: HTTPFields) {
        if link.hasPrefix(app.services.publicURL + "/") {
            let response = try await app.request(.get, String(link.dropFirst(app.services.publicURL.count)), headers: headers)
            return (Int(response.status.code), Data(buffer: response.body), response.headers)
        }
        var request = URLRequest(url: try #require(URL(string: link)))
        for field in headers { request.setValue(field.value, forHTTPHeaderField: field.name.rawName) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var fields = HTTPFields()
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String, let name = HTTPField.Name(key) { fields[name] = value }
        }
        return (http.statusCode, data, fields)
    }

    static func key(_ text: String) throws -> SymmetricKey {
        let bytes = try #require(Data(base64URLEncoded: text))
        #expect(bytes.count == 32)
        return SymmetricKey(data: bytes)
    }

    @Test(arguments: Backend.withStores)
    func whoMaySeeASegmentGetsItsKeyAndDecryptsTheCiphertextItFetches(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let bob = try await app.signUp("bob")
            try await app.follow(bob, "alice")
            let video = try await app.postLive(alice, file: try await MediaFixtures.shared.video(seconds: 2), fields: ["audience": "followers"])[0]
            let photo = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "followers"])[0]

            let segment = try await app.request(.get, "/api/v1/stories/\(video)", token: bob).decode(API.Segment.self)
            let key = try Self.key(try #require(segment.mediaKey))
            let links = try #require(segment.encryptedMedia)
            let videoLink = try #require(links.video), posterLink = try #require(links.poster)
            #expect(links.photo == nil)
            if backend.media == .s3 {
                #expect(videoLink.contains("X-Amz-Signature="), "presigned: the server sends no media bytes")
            } else {
                #expect(videoLink.hasPrefix("http://stories.test/ciphertext/\(video)/"))
            }

            // The whole ciphertext, decrypted here, is exactly what the server-decrypting route serves.
            let whole = try await Self.fetch(app, videoLink)
            #expect(whole.status == 200)
            #expect(Array(whole.body.prefix(4)) == Array("EPH1".utf8), "ciphertext, never plaintext")
            let plain = try #require(try await app.services.media.decryptedData(segmentID: video, rendition: .video))
            #expect(try ChunkedCipher.decrypt(blob: whole.body, key: key) == plain)
            let poster = try await Self.fetch(app, posterLink)
            #expect(try ChunkedCipher.decrypt(blob: poster.body, key: key)
                    == (try await app.services.media.decryptedData(segmentID: video, rendition: .poster)))
            // Ranges of the ciphertext, as a client seeking fetches them.
            let part = try await Self.fetch(app, videoLink, headers: [.range: "bytes=24-70000"])
            #expect(part.status == 206 && part.body == whole.body[24...70000])
            if backend.media == .file {
                // Every form of a single range, and what is not one.
                let size = whole.body.count
                let cases: [(String, ClosedRange<Int>?)] = [
                    ("bytes=0-0", 0...0), ("bytes=100-", 100...(size - 1)), ("bytes=-500", (size - 500)...(size - 1)),
                    ("BYTES=5-9", 5...9), ("bytes= 5-9 ", 5...9), ("bytes=5-9, 20-30", 5...9),
                    ("bytes=10-999999999999", 10...(size - 1)), ("bytes=-999999999", 0...(size - 1)),
                    ("bytes=\(size)-", nil), ("bytes=9-5", nil), ("bytes=-0", nil), ("bytes=x-5", nil),
                    ("bytes=+5-9", nil), ("bytes=5", nil), ("bytes=", nil), ("items=0-5", nil),
                    ("bytes=1234567890123456789-", nil),
                ]
                for (header, expected) in cases {
                    let response = try await Self.fetch(app, videoLink, headers: [.range: header])
                    if let expected {
                        #expect(response.status == 206 && response.body == whole.body[expected], "\(header)")
                        #expect(response.headers[.contentRange] == "bytes \(expected.lowerBound)-\(expected.upperBound)/\(size)")
                    } else {
                        #expect(response.status == 416 && response.headers[.contentRange] == "bytes */\(size)", "\(header)")
                    }
                }
            }

            if backend.media == .file {
                // Cacheable until the segment leaves the story, immutable, with a strong validator.
                let stored = try #require(try await app.services.segments.segment(id: video))
                let expiresIn = Double((stored.expiresAt - app.clock.now()).components.seconds)
                let cacheControl = try #require(whole.headers[.cacheControl])
                #expect(cacheControl.hasPrefix("public, max-age=") && cacheControl.hasSuffix(", immutable"))
                let maxAge = try #require(Int(cacheControl.dropFirst("public, max-age=".count).prefix { $0.isNumber }))
                #expect(maxAge > 0 && Double(maxAge) <= expiresIn)
                let etag = try #require(whole.headers[.eTag])
                #expect(!etag.hasPrefix("W/"))
                #expect(try await Self.fetch(app, videoLink, headers: [.ifNoneMatch: etag]).status == 304)
                // Signed: another rendition, another segment, another lifetime — each is refused without a lookup.
                #expect(try await Self.fetch(app, videoLink.replacingOccurrences(of: "/video.mp4", with: "/poster.jpg")).status == 404)
                #expect(try await Self.fetch(app, videoLink.replacingOccurrences(of: "/\(video)/", with: "/\(photo)/")).status == 404)
                let token = try #require(videoLink.split(separator: "/").dropLast().last)
                let longer = token.split(separator: ".").enumerated().map { $0.offset == 0 ? String(Int64($0.element)! + 86_400_000) : String($0.element) }
                #expect(try await Self.fetch(app, videoLink.replacingOccurrences(of: String(token), with: longer.joined(separator: "."))).status == 404)
            }

            // A photo: a link to the photo itself.
            let photoBody = try await app.request(.get, "/api/v1/stories/\(photo)", token: bob).decode(API.Segment.self)
            let photoLink = try #require(photoBody.encryptedMedia?.photo)
            #expect(photoBody.encryptedMedia?.poster == photoLink)
            #expect(try ChunkedCipher.decrypt(blob: try await Self.fetch(app, photoLink).body, key: try Self.key(try #require(photoBody.mediaKey)))
                    == (try await app.services.media.decryptedData(segmentID: photo, rendition: .photo)))

            // Whoever may not see it gets no key: the segment itself is not found.
            let carol = try await app.signUp("carol")
            #expect(try await app.request(.get, "/api/v1/stories/\(video)", token: carol).status == .notFound)
            // Lists hand out keys too (the story as Bob watches it).
            let story = try await app.request(.get, "/api/v1/users/alice/story", token: bob).decode(API.Story.self)
            #expect(story.segments.allSatisfy { $0.mediaKey != nil && $0.encryptedMedia != nil })
        }
    }

    @Test(arguments: Backend.withStores)
    func afterThePurgeTheCiphertextAnyoneKeptIsUnreadable(backend: Backend) async throws {
        try await TestApp.run(backend, configure: { $0.restoreWindow = .seconds(60) }) { app in
            let alice = try await app.signUp("alice")
            let id = try await app.postLive(alice, file: try await MediaFixtures.shared.photo(), fields: ["audience": "public"])[0]
            let segment = try await app.request(.get, "/api/v1/stories/\(id)", token: alice).decode(API.Segment.self)
            let link = try #require(segment.encryptedMedia?.photo)
            // What a browser or a shared cache kept: the ciphertext.
            let kept = try await Self.fetch(app, link).body
            #expect(try ChunkedCipher.decrypt(blob: kept, key: try Self.key(try #require(segment.mediaKey))).count > 0)

            #expect(try await app.request(.delete, "/api/v1/stories/\(id)", token: alice).status == .ok)
            app.clock.advance(by: .seconds(61))
            try await app.services.sweeper.sweep()
            try await app.processJobs()

            // No key is handed out or kept anywhere, so the kept ciphertext cannot be read: not with the keyring's
            // key (gone), and no guess does better than any random key.
            #expect(try await app.services.keyring.key(for: id) == nil)
            #expect(try await app.request(.get, "/api/v1/stories/\(id)", token: alice).status == .notFound)
            #expect(throws: ChunkedCipher.CipherError.self) { try ChunkedCipher.decrypt(blob: kept, key: SymmetricKey(size: .bits256)) }
            // The link no longer serves anything either.
            #expect(try await Self.fetch(app, link).status >= 400)
            let receipt = try await app.request(.get, "/api/v1/stories/\(id)/deletion-receipt", token: alice).decode(API.Receipt.self)
            #expect(receipt.entries.contains { $0.store == "keyring" && $0.removed.contains("browsers, shared caches") })
        }
    }

    /// The service worker that decrypts in the browser: served from the root (its scope is the whole site) and
    /// always revalidated; not under /static, where a versioned copy would be cached for a year. On an object store
    /// the page's policy lets it fetch from the bucket's origin. Every response names its request.
    @Test(arguments: Backend.withStores)
    func theServiceWorkerIsServedFromTheRootAndMayFetchTheCiphertext(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let worker = try await app.request(.get, "/sw.js")
            #expect(worker.status == .ok)
            #expect(worker.headers[.contentType]?.hasPrefix("text/javascript") == true)
            #expect(worker.headers[.cacheControl] == "no-cache")
            #expect(worker.text.contains("crypto.subtle.decrypt") && worker.text.contains("/decrypt/"))
            #expect(try await app.request(.get, "/static/sw.js").status == .notFound)
            let etag = try #require(worker.headers[.eTag])
            #expect(try await app.request(.get, "/sw.js", headers: [.ifNoneMatch: etag]).status == .notModified)

            let page = try await app.request(.get, "/")
            let policy = try #require(page.headers[HTTPField.Name("Content-Security-Policy")!])
            let connect = try #require(policy.split(separator: ";").first { $0.contains("connect-src") })
            if backend.media == .s3, let s3 = app.services.configuration.s3 {
                #expect(connect.contains(s3.browserOrigin) && !s3.browserOrigin.isEmpty)
            } else {
                #expect(connect.trimmingCharacters(in: .whitespaces) == "connect-src 'self'")
            }

            let id = try #require(page.headers[HTTPField.Name("X-Request-Id")!])
            #expect(id.count == 16 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase })
            var ids: Set<String> = [id]
            for _ in 0..<8 { ids.insert(try #require(try await app.request(.get, "/sw.js").headers[HTTPField.Name("X-Request-Id")!])) }
            #expect(ids.count == 9 && ids.allSatisfy { $0.count == 16 })
            let named = try await app.request(.get, "/sw.js", headers: [HTTPField.Name("X-Request-Id")!: "lb-4711-abc"])
            #expect(named.headers[HTTPField.Name("X-Request-Id")!] == "lb-4711-abc")
            let hostile = try await app.request(.get, "/sw.js", headers: [HTTPField.Name("X-Request-Id")!: "a b;c"])
            #expect(hostile.headers[HTTPField.Name("X-Request-Id")!] != "a b;c")
        }
    }

    /// README's test vector of the format: a third-party client that decrypts this decrypts Ephemera's media.
    @Test func theFormatsTestVectorDecrypts() throws {
        let key = SymmetricKey(data: (0..<32).map { UInt8($0) })
        let blob = try #require(Data(hexString: ChunkedCipherVector.blobHex))
        let plain = try ChunkedCipher.decrypt(blob: blob, key: key)
        #expect(String(decoding: plain, as: UTF8.self) == ChunkedCipherVector.plaintext)
        // Any change is refused: a flipped ciphertext byte, a dropped last chunk, a changed length.
        var flipped = blob
        flipped[30] ^= 1
        #expect(throws: ChunkedCipher.CipherError.self) { try ChunkedCipher.decrypt(blob: flipped, key: key) }
        #expect(throws: ChunkedCipher.CipherError.self) { try ChunkedCipher.decrypt(blob: blob.prefix(24 + 16 + 16), key: key) }
        var longer = blob
        longer[15] ^= 1
        #expect(throws: ChunkedCipher.CipherError.self) { try ChunkedCipher.decrypt(blob: longer, key: key) }
    }
}

/// The vector printed in README ("The encrypted format"), made independently of this code (Python's `cryptography`
/// AES-GCM): key 00 01 … 1f, chunk size 16, salt a0 a1 … a7, the plaintext below (39 bytes: chunks of 16, 16 and 7).
enum ChunkedCipherVector {
    static let plaintext = "Ephemera eph1 test vector, three chunks"
    static let blobHex = "45504831000000100000000000000027a0a1a2a3a4a5a6a7bb2986cd3c570044f71aaaf1bd5641cf53df0ea40ef7305b"
        + "123938baad83dcdc40f7775211331cbeb19c914d02ff6bc73f0b493679d45fe4ce225c35bc39b7101caa2c353cc6a373b338d0bf4348"
        + "954a29c92ea9d61516"
}

extension Data {
    init?(hexString: String) {
        var bytes: [UInt8] = []
        var index = hexString.startIndex
        while index < hexString.endIndex {
            let next = hexString.index(index, offsetBy: 2, limitedBy: hexString.endIndex) ?? hexString.endIndex
            guard let byte = UInt8(hexString[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
