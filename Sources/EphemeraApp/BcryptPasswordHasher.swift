import EphemeraCore
import EphemeraStore
import HummingbirdBcrypt
import NIOPosix

/// bcrypt at the configured cost, on NIO's thread pool (a cost-12 hash takes about a third of a second).
struct BcryptPasswordHasher: PasswordHasher {
    let cost: UInt8
    let dummyHash: String

    init(cost: UInt8) {
        self.cost = cost
        // Of the real cost: against a cheaper dummy, an unknown handle answered in 4 ms and a real one in 343 ms.
        self.dummyHash = Bcrypt.hash(IDs.randomToken(bytes: 24), cost: cost)
    }

    func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    func verify(_ password: String, against hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
