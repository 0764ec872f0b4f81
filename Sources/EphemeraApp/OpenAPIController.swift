import Hummingbird

/// `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of every route this server answers (API.md), served
/// without a token. `OpenAPITests` fail when a registered route is missing from it or it names one that does
/// not exist; `script/schemathesis` checks live answers against it.
struct OpenAPIController {
    static let document = ByteBuffer(bytes: PackageResources.openapi_json)

    func register(on router: Router<AppRequestContext>) {
        router.get("/api/v1/openapi.json") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            headers[.cacheControl] = "public, max-age=300"
            headers[.accessControlAllowOrigin] = "*"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: Self.document))
        }
    }
}
