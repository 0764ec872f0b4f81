import EphemeraCore
import Crypto
import Foundation

/// Opaque, URL-safe random identifiers and secrets.
public enum IDs {
    /// 128 random bits as 22 URL-safe base64 characters, never beginning with `-`: ids are typed as arguments
    /// (`ephemera download ID`), where a leading dash reads as an option (a segment id beginning `-h` printed the
    /// help and saved nothing; one in 64 ids began with a dash).
    public static func make() -> String {
        while true {
            let id = randomToken(bytes: 16)
            if !id.hasPrefix("-") { return id }
        }
    }

    /// `bytes` random bytes as URL-safe base64 without padding.
    public static func randomToken(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        return data.base64URLEncoded
    }

    /// The SHA-256 of a secret token, hex encoded: what the database stores instead of the token.
    public static func hash(token: String) -> String {
        Hex.encode(SHA256.hash(data: Data(token.utf8)))
    }
}
