import EphemeraCore
import EphemeraMedia
import Foundation
import NIOCore

/// Uploads waiting for processing, shared by every node through the object store: the node that receives a
/// file keeps its plaintext in its own scratch (for probing) and, before the post's row commits, encrypts it
/// into `incoming/{name}` under a key of its own (`inbox-{name}`); whichever node's worker claims the job
/// fetches it back into its scratch. Processed or abandoned, it is removed everywhere with its key.
public struct SharedInbox: UploadInbox {
    public let local: FileMediaStore
    public let client: S3Client
    public let keyring: any Keyring
    let writer: S3MediaStore

    public init(local: FileMediaStore, store: S3MediaStore) {
        self.local = local
        self.client = store.client
        self.keyring = store.keyring
        self.writer = store
    }

    static func objectKey(_ name: String) -> String { "incoming/" + name }

    public func incomingPath(_ name: String) -> String { local.incomingPath(name) }

    public func prefix(ofIncoming name: String, length: Int) async throws -> [UInt8] {
        try await local.prefix(ofIncoming: name, length: length)
    }

    public func makeDurable(incoming name: String) async throws {
        let key = try await keyring.createKey(for: UploadInboxNames.keyID(name))
        do {
            try await writer.upload(local.incomingPath(name), to: Self.objectKey(name), key: key.symmetricKey)
        } catch {
            // Nothing half-made: no object, no key.
            try? await client.deleteObject(Self.objectKey(name))
            _ = try? await keyring.destroyKey(for: UploadInboxNames.keyID(name))
            throw S3MediaStore.mapped(error)
        }
    }

    public func fetch(incoming name: String) async throws -> String? {
        if let path = try await local.fetch(incoming: name) { return path }
        guard let key = try await keyring.key(for: UploadInboxNames.keyID(name)) else { return nil }
        let path = local.incomingPath(name)
        let partial = path + ".fetching"
        do {
            guard let blob = try await writer.openObject(Self.objectKey(name), key: key) else { return nil }
            try await S3MediaStore.write(blob, to: partial)
            guard rename(partial, path) == 0 else { throw ChunkedCipher.CipherError.io("cannot move \(partial)") }
            return path
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw S3MediaStore.mapped(error)
        }
    }

    public func removeIncoming(_ name: String) async throws {
        local.removeLocalIncoming(name)
        do {
            try await client.deleteObject(Self.objectKey(name))
        } catch {
            throw S3MediaStore.mapped(error)
        }
        try await keyring.destroyKey(for: UploadInboxNames.keyID(name))
    }

    public func removeUnclaimedLocalCopies(keeping pending: Set<String>, receivedBefore instant: Instant) async throws -> Int {
        try await local.removeUnclaimedLocalCopies(keeping: pending, receivedBefore: instant)
    }

    public func incomingNames() async throws -> [String] {
        do {
            return try await client.list(prefix: "incoming/").objects.map { String($0.key.dropFirst("incoming/".count)) }
        } catch {
            throw S3MediaStore.mapped(error)
        }
    }
}
