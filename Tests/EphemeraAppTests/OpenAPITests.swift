import EphemeraTestSupport
import Foundation
import Testing

/// The OpenAPI document (`GET /api/v1/openapi.json`) and the router agree: every registered route is in the
/// document, and the document names no route that does not exist.
@Suite struct OpenAPITests {
    /// What the check reads of the document.
    struct Document: Decodable {
        struct Info: Decodable { var title: String; var version: String }
        var openapi: String
        var info: Info
        var paths: [String: [String: Operation]]
    }

    struct Operation: Decodable {
        var summary: String?
        var responses: [String: Response]?
    }

    /// A response: described in place, or a reference to one of `components.responses`.
    struct Response: Decodable {
        var description: String?
        var ref: String?
        enum CodingKeys: String, CodingKey { case description, ref = "$ref" }
    }

    static let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch"]

    @Test(arguments: Backend.all)
    func theDocumentNamesEveryRouteAndNoOther(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let response = try await app.request(.get, "/api/v1/openapi.json")
            #expect(response.status == .ok && response.headers[.contentType] == "application/json; charset=utf-8")
            let document = try response.decode(Document.self)
            #expect(document.openapi == "3.1.0")
            var documented: Set<String> = []
            for (path, item) in document.paths {
                for (method, operation) in item where Self.methods.contains(method) {
                    documented.insert("\(method.uppercased()) \(path)")
                    #expect(operation.summary?.isEmpty == false, "\(method) \(path) has no summary")
                    #expect(operation.responses?.isEmpty == false, "\(method) \(path) has no responses")
                    for (status, response) in operation.responses ?? [:] {
                        #expect(response.description != nil
                                    || ["#/components/responses/Error", "#/components/responses/PageError"].contains(response.ref),
                                "\(method) \(path) \(status)")
                    }
                }
            }
            let registered = Set(app.routes)
            #expect(registered.subtracting(documented).sorted() == [], "routes missing from the document")
            #expect(documented.subtracting(registered).sorted() == [], "the document names routes that do not exist")
        }
    }
}
