import EphemeraCore
import Foundation
import PostgresKit

/// A `postgres://user[:password]@host[:port]/database` URL with the TLS settings libpq users know:
/// `sslmode=disable|require|verify-full` (default `disable`) and `sslrootcert=PATH` (PEM roots to trust; with
/// `verify-full`, the system's roots when absent). `require` encrypts without checking who answers (unless a
/// root is given, which is then checked, but not the host name); `verify-full` checks that the certificate is
/// signed by the root and names the host. `pg_dump` and `pg_restore` read the same parameters.
public struct PostgresURL: Sendable {
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, require, verifyFull = "verify-full"
    }

    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    public let configuration: SQLPostgresConfiguration
    public let sslMode: SSLMode
    public let rootCertificatePath: String?
    public let host: String
    public let port: Int

    public init(_ url: String) throws {
        guard var components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw Problem(description: "'\(Self.redacted(url))' is not a postgres:// URL")
        }
        let items = components.queryItems ?? []
        func value(_ name: String) -> String? { items.last { $0.name.lowercased() == name }?.value }
        let modeText = value("sslmode") ?? "disable"
        guard let mode = SSLMode(rawValue: modeText.lowercased()) else {
            throw Problem(description: "sslmode=\(modeText) in \(Self.redacted(url)) is not one of disable, require, verify-full")
        }
        let known: Set<String> = ["sslmode", "sslrootcert"]
        if let unknown = items.first(where: { !known.contains($0.name.lowercased()) }) {
            throw Problem(description: "\(unknown.name)= in \(Self.redacted(url)) is not understood (only sslmode and sslrootcert are)")
        }
        let root = value("sslrootcert").flatMap { $0.isEmpty ? nil : $0 }
        components.queryItems = nil
        guard let bare = components.string, let host = components.host, !host.isEmpty else {
            throw Problem(description: "'\(Self.redacted(url))' names no host")
        }
        var configuration = try SQLPostgresConfiguration(url: bare)
        var tls = TLSConfiguration.makeClientConfiguration()
        if let root {
            guard FileManager.default.isReadableFile(atPath: root) else {
                throw Problem(description: "sslrootcert=\(root): no readable file there (PEM certificates of the roots to trust)")
            }
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(root))
            } catch {
                throw Problem(description: "sslrootcert=\(root) holds no PEM certificate (\(error))")
            }
        }
        switch mode {
        case .disable:
            configuration.coreConfiguration.tls = .disable
        case .require:
            tls.certificateVerification = root == nil ? .none : .noHostnameVerification
            configuration.coreConfiguration.tls = .require(try NIOSSLContext(configuration: tls))
        case .verifyFull:
            tls.certificateVerification = .fullVerification
            configuration.coreConfiguration.tls = .require(try NIOSSLContext(configuration: tls))
        }
        self.configuration = configuration
        self.sslMode = mode
        self.rootCertificatePath = root
        self.host = host
        self.port = components.port ?? 5432
    }

    /// The URL without its password, for messages and logs.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "…"
        return components.string ?? "postgres://…"
    }

    /// A sentence for a failure to connect: what went wrong and what to check (TLS above all, whose library
    /// errors say little).
    public func describe(_ error: any Error) -> String {
        let place = "PostgreSQL at \(host):\(port) (sslmode=\(sslMode.rawValue)\(rootCertificatePath.map { ", sslrootcert=\($0)" } ?? ""))"
        let detail = String(reflecting: error)
        if let error = error as? PSQLError {
            switch error.code {
            case .sslUnsupported:
                return "Cannot connect to \(place): the server does not offer TLS. Turn ssl on in the server, or use sslmode=disable."
            case .failedToAddSSLHandler:
                return "Cannot connect to \(place): TLS could not be set up (\(detail))."
            default:
                break
            }
            if let underlying = error.underlying {
                if underlying is NIOSSLError || String(reflecting: underlying).contains("SSL") {
                    return "Cannot connect to \(place): the TLS handshake failed: the server's certificate was not accepted. "
                        + (sslMode == .verifyFull
                            ? "Check that sslrootcert is the root that signed it and that the certificate names \(host)."
                            : "Check sslrootcert.")
                        + " (\(String(reflecting: underlying)))"
                }
                return "Cannot connect to \(place): \(String(reflecting: underlying))."
            }
            if let message = error.serverInfo?[.message] {
                return "Cannot connect to \(place): the server said: \(message)."
            }
        }
        return "Cannot connect to \(place): \(detail)."
    }
}
