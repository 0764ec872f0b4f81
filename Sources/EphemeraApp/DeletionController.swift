import EphemeraCore
import EphemeraUseCases
import EphemeraStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOPosix

/// Deleting and restoring segments, recently deleted, purges, receipts, and deleting all story data or the
/// account (both ask for the password again).
struct DeletionController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.delete("/api/v1/stories/:id", use: delete)
        router.post("/api/v1/stories/:id/restore", use: restore)
        router.get("/api/v1/me/recently-deleted", use: recentlyDeleted)
        router.get("/api/v1/stories/:id/deletion-receipt", use: receipt)
        router.delete("/api/v1/me/stories", use: deleteAllStories)
        router.delete("/api/v1/me", use: deleteAccount)
    }

    struct DeletedBody: Encodable {
        var id: String
        var state: String
        var restorableUntil: String?
        /// A removed segment under legal hold leaves the author's view but is kept until then.
        var legalHoldUntil: String?
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let id = try context.parameters.require("id")
        let permanent = try parseFlag(request.uri.queryParameters["permanent"].map(String.init), name: "permanent")
        switch try await services.deleting.delete(segmentID: id, by: me, permanently: permanent) {
        case .deleted(let segment):
            return try jsonResponse(DeletedBody(id: id, state: segment.state.rawValue,
                                                restorableUntil: segment.restorableUntil?.rfc3339))
        case .purging:
            return try jsonResponse(DeletedBody(id: id, state: SegmentState.purging.rawValue), status: .accepted)
        case .keptUnderHold(let until):
            return try jsonResponse(DeletedBody(id: id, state: SegmentState.removed.rawValue, legalHoldUntil: until.rfc3339))
        }
    }

    @Sendable func restore(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let restored = try await services.deleting.restore(segmentID: try context.parameters.require("id"), by: me)
        return try jsonResponse(try await segmentBodies(services, [restored], viewer: context.viewer)[0])
    }

    @Sendable func recentlyDeleted(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let page = try PageRequest(request)
        let result = try await services.deleting.recentlyDeleted(of: me, limit: page.limit, after: page.cursor)
        return try jsonResponse(PageBody(
            items: try await segmentBodies(services, result.items, viewer: context.viewer), nextCursor: result.nextCursor))
    }

    /// The receipt as the API gives it (its keys are the contract since wave 1).
    struct ReceiptBody: Encodable {
        struct Entry: Encodable {
            var store: String
            var removed: String
            var at: String
        }
        var segmentID: String
        var kind: String
        var uploadedAt: String
        var purgeStartedAt: String
        var purgedAt: String
        var entries: [Entry]
        var kept: String
        var noReadableCopyAfter: String

        init(_ receipt: DeletionReceipt) {
            segmentID = receipt.segmentID
            kind = receipt.kind.rawValue
            uploadedAt = receipt.uploadedAt.rfc3339
            purgeStartedAt = receipt.purgeStartedAt.rfc3339
            purgedAt = receipt.purgedAt.rfc3339
            entries = receipt.entries.map { Entry(store: $0.store.rawValue, removed: $0.removed, at: $0.at.rfc3339) }
            kept = receipt.kept
            noReadableCopyAfter = receipt.noReadableCopyAfter.rfc3339
        }
    }

    @Sendable func receipt(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let receipt = try await services.deleting.receipt(segmentID: try context.parameters.require("id"), for: me)
        return try jsonResponse(ReceiptBody(receipt))
    }

    struct PasswordBody: Decodable {
        var password: String
    }

    struct PurgingBody: Encodable {
        var state: String
        var segments: Int
    }

    @Sendable func deleteAllStories(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let body = try? await decodeJSON(PasswordBody.self, from: request, context: context)
        let count = try await services.deleting.deleteAllStories(of: me, password: body?.password, address: context.address)
        return try jsonResponse(PurgingBody(state: SegmentState.purging.rawValue, segments: count), status: .accepted)
    }

    @Sendable func deleteAccount(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let body = try? await decodeJSON(PasswordBody.self, from: request, context: context)
        try await services.deleting.deleteAccount(me, password: body?.password, address: context.address)
        return try jsonResponse(["state": "deleting"], status: .accepted)
    }
}
