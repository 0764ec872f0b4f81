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
        let now = services.clock.now()
        if let segment = try await services.segments.segment(id: id), segment.authorID == me.id, segment.state == .removed {
            // Taken down: under legal hold it only leaves the author's view; otherwise it is purged.
            if let hold = try await services.moderation.discard(segmentID: id, authorID: me.id, at: now) {
                return try jsonResponse(DeletedBody(id: id, state: SegmentState.removed.rawValue,
                                                    legalHoldUntil: hold.rfc3339))
            }
            services.jobSignal.notify()
            return try jsonResponse(DeletedBody(id: id, state: SegmentState.purging.rawValue), status: .accepted)
        }
        if permanent {
            guard let segment = try await services.segments.segment(id: id), segment.authorID == me.id else {
                throw EphemeraError.storyNotFound
            }
            try await services.deletion.beginPurge(segmentID: id, now: now)
            services.jobSignal.notify()
            return try jsonResponse(DeletedBody(id: id, state: SegmentState.purging.rawValue), status: .accepted)
        }
        let deleted = try await services.deletion.delete(
            segmentID: id, authorID: me.id, now: now, window: services.configuration.restoreWindow)
        return try jsonResponse(DeletedBody(id: id, state: deleted.state.rawValue,
                                            restorableUntil: deleted.restorableUntil?.rfc3339))
    }

    @Sendable func restore(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let restored = try await services.deletion.restore(
            segmentID: try context.parameters.require("id"), authorID: me.id, now: services.clock.now())
        return try jsonResponse(try await segmentBodies(services, [restored], viewer: context.viewer)[0])
    }

    @Sendable func recentlyDeleted(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let page = try PageRequest(request)
        let result = try await services.deletion.recentlyDeleted(authorID: me.id, limit: page.limit, after: page.cursor)
        return try jsonResponse(PageBody(
            items: try await segmentBodies(services, result.items, viewer: context.viewer), nextCursor: result.nextCursor))
    }

    @Sendable func receipt(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try context.requireAccount()
        let id = try context.parameters.require("id")
        if let (author, json) = try await services.deletion.receipt(segmentID: id), author == me.id {
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: .init(string: json)))
        }
        if let segment = try await services.segments.segment(id: id), segment.authorID == me.id {
            throw EphemeraError.conflict("not_purged", segment.state == .purging
                ? "This segment is being purged; its receipt is ready once every step is done."
                : "This segment has not been purged, so there is no deletion receipt yet.")
        }
        throw EphemeraError.storyNotFound
    }

    struct PasswordBody: Decodable {
        var password: String
    }

    struct PurgingBody: Encodable {
        var state: String
        var segments: Int
    }

    @Sendable func deleteAllStories(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try await reauthenticate(request, context: context)
        let count = try await services.deletion.beginPurgeOfAll(authorID: me.id, now: services.clock.now())
        services.jobSignal.notify()
        return try jsonResponse(PurgingBody(state: SegmentState.purging.rawValue, segments: count), status: .accepted)
    }

    @Sendable func deleteAccount(_ request: Request, context: AppRequestContext) async throws -> Response {
        let me = try await reauthenticate(request, context: context)
        try await services.deletion.beginAccountDeletion(accountID: me.id, now: services.clock.now())
        services.jobSignal.notify()
        return try jsonResponse(["state": "deleting"], status: .accepted)
    }

    /// The signed-in account, after checking its password again (a stolen session alone cannot wipe data).
    func reauthenticate(_ request: Request, context: AppRequestContext) async throws -> Account {
        let me = try context.requireAccount()
        let body = try? await decodeJSON(PasswordBody.self, from: request, context: context)
        return try await services.identity.reauthenticate(me, password: body?.password)
    }
}
