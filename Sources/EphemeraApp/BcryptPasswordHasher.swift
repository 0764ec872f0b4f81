import EphemeraCore
import EphemeraStore
import HummingbirdBcrypt
import NIOCore
import NIOPosix

/// bcrypt at the configured cost, in a lane of its own (a cost-12 hash takes about a third of a second): one
/// hashing thread a core, and a caller who would wait past `maxWaitSeconds` (`AdmissionRules.passwordLaneMaxWaitSeconds`) for one
/// is refused at once with 503 `overloaded` (`LaneLoad`).
struct BcryptPasswordHasher: PasswordHasher {
    let cost: UInt8
    let dummyHash: String
    let lane: WorkLane

    init(cost: UInt8, maxWaitSeconds: Double, workers: Int = System.coreCount) {
        self.cost = cost
        // Of the real cost: against a cheaper dummy, an unknown handle answered in 4 ms and a real one in 343 ms.
        let started = ContinuousClock.now
        self.dummyHash = Bcrypt.hash(IDs.randomToken(bytes: 24), cost: cost)
        let took = ContinuousClock.now - started
        // The time of that hash is the lane's pace until real ones are timed.
        lane = WorkLane(workers: workers, maxWaitSeconds: maxWaitSeconds,
                        secondsPerItem: Double(took.components.attoseconds) / 1e18 + Double(took.components.seconds))
    }

    func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await lane.run { Bcrypt.hash(password, cost: cost) }
    }

    func verify(_ password: String, against hash: String) async throws -> Bool {
        try await lane.run { Bcrypt.verify(password, hash: hash) }
    }
}
