import Crypto
import EphemeraCore
import EphemeraStore
import Foundation

/// What a caller who may see a segment is given to fetch and decrypt its media without the server decrypting
/// (API.md, "Media for clients that decrypt"): the segment's data key, and a link per rendition to its ciphertext.
public struct MediaAccess: Sendable, Hashable {
    public var key: DataKey
    /// By rendition: a path on this site (`/ciphertext/…`, media on the file store) or a presigned object-store URL.
    public var links: [Rendition: String]

    /// The key as API.md gives it: base64url without padding.
    public var keyText: String {
        Data(key.bytes).base64URLEncoded
    }
}

/// Hands out `MediaAccess` for segments the caller may see (the caller of `issue` has applied the visibility rule:
/// `Reading` does), and checks the ciphertext links of the file store. A link names everything its response needs
/// — segment, rendition, the segment's `expiresAt`, how long the link is valid, the media tag for the `ETag` — and
/// carries an HMAC of them under a key of this server's, so it is unguessable and cannot be altered, and serving
/// it needs no database lookup.
public struct MediaAccessIssuer: Sendable {
    let keyring: any Keyring
    let media: any MediaStore
    /// Made once: every ciphertext request checks a link with it. Never mutated after `init`, and only read
    /// (swift-crypto has not marked `SymmetricKey` Sendable, though its bytes are immutable).
    nonisolated(unsafe) let linkKey: SymmetricKey
    /// The HMAC keyed once (its inner and outer pads hashed): each signature starts from a copy of it.
    nonisolated(unsafe) let keyedMAC: HMAC<SHA256>
    let clock: any EphemeraClock

    public init(keyring: any Keyring, media: any MediaStore, linkKey: [UInt8], clock: any EphemeraClock) {
        self.keyring = keyring
        self.media = media
        self.linkKey = SymmetricKey(data: linkKey)
        self.keyedMAC = HMAC<SHA256>(key: self.linkKey)
        self.clock = clock
    }

    /// Access for each of `segments` that has media and a key, by segment id.
    public func issue(for segments: [Segment]) async throws -> [String: MediaAccess] {
        let withMedia = segments.filter { $0.state.hasMedia && $0.mediaTag != nil }
        guard !withMedia.isEmpty else { return [:] }
        let keys = try await keyring.keys(for: withMedia.map(\.id))
        var access: [String: MediaAccess] = [:]
        for segment in withMedia {
            guard let key = keys[segment.id] else { continue }
            access[segment.id] = MediaAccess(key: key, links: links(of: segment, MediaRules.decryptableRenditions(of: segment.kind)))
        }
        return access
    }

    /// Access to one rendition of `segment` — a download (the watermarked copy, or the author's original) for a
    /// client that decrypts it itself; nil when the segment has no media or no key any more.
    public func issue(for segment: Segment, rendition: Rendition) async throws -> MediaAccess? {
        guard segment.state.hasMedia, segment.mediaTag != nil,
              let key = try await keyring.keys(for: [segment.id])[segment.id] else { return nil }
        return MediaAccess(key: key, links: links(of: segment, [rendition]))
    }

    func links(of segment: Segment, _ renditions: [Rendition]) -> [Rendition: String] {
        guard let tag = segment.mediaTag else { return [:] }
        let now = clock.now()
        let validFor = MediaRules.ciphertextLinkLifetime(expiresAt: segment.expiresAt, now: now)
        var links: [Rendition: String] = [:]
        for rendition in renditions {
            switch media.ciphertextSource(segmentID: segment.id, rendition: rendition, validFor: validFor) {
            case .presigned(let url):
                links[rendition] = url
            case .file:
                let link = CiphertextLink(segmentID: segment.id, rendition: rendition, expiresAt: segment.expiresAt,
                                          validUntil: now + validFor, mediaTag: tag)
                links[rendition] = link.path(signature: signature(of: link))
            }
        }
        return links
    }

    func signature(of link: CiphertextLink) -> String {
        var text = link.signedText
        var mac = keyedMAC
        text.withUTF8 { mac.update(data: $0) }
        return mac.finalize().withUnsafeBytes { Hex.encode($0.prefix(16)) }
    }

    /// The link of `path`'s parts when it is one this server made and it is still valid; nil otherwise.
    public func verify(segmentID: String, token: String, rendition: String) -> CiphertextLink? {
        guard let rendition = Rendition(rawValue: rendition),
              let (link, signature) = CiphertextLink.parse(segmentID: segmentID, token: token, rendition: rendition),
              Self.constantTimeEqual(signature, self.signature(of: link)),
              clock.now() < link.validUntil
        else { return nil }
        return link
    }

    /// Where the ciphertext of a verified link is (the file store's path; nil on an object store, whose links are
    /// presigned URLs instead).
    public func file(of link: CiphertextLink) -> String? {
        let lifetime = link.validUntil - clock.now()
        if case .file(let path) = media.ciphertextSource(segmentID: link.segmentID, rendition: link.rendition, validFor: lifetime) {
            return path
        }
        return nil
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// A ciphertext link of the file store: `/ciphertext/{segment}/{expiresAt}.{validUntil}.{mediaTag}.{signature}/{rendition}`
/// (instants in milliseconds; `.` never occurs in an id).
public struct CiphertextLink: Sendable, Hashable {
    public var segmentID: String
    public var rendition: Rendition
    public var expiresAt: Instant
    public var validUntil: Instant
    public var mediaTag: String

    var signedText: String {
        "eph-ciphertext|\(segmentID)|\(rendition.rawValue)|\(expiresAt.milliseconds)|\(validUntil.milliseconds)|\(mediaTag)"
    }

    func path(signature: String) -> String {
        "/ciphertext/\(segmentID)/\(expiresAt.milliseconds).\(validUntil.milliseconds).\(mediaTag).\(signature)/\(rendition.rawValue)"
    }

    static func parse(segmentID: String, token: String, rendition: Rendition) -> (CiphertextLink, String)? {
        let parts = token.split(separator: ".", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 4, let expires = Int64(parts[0]), let until = Int64(parts[1]), !parts[2].isEmpty,
              !parts[3].isEmpty, !segmentID.isEmpty else { return nil }
        return (CiphertextLink(segmentID: segmentID, rendition: rendition, expiresAt: Instant(milliseconds: expires),
                               validUntil: Instant(milliseconds: until), mediaTag: String(parts[2])), String(parts[3]))
    }

    /// The strong validator of the ciphertext: it never changes under one media tag.
    public var etag: String { "\"\(mediaTag)-\(rendition.rawValue)-eph1\"" }
}
