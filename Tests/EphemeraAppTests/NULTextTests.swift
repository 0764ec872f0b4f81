import EphemeraCore
import EphemeraTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// A NUL character in a JSON body is a 400 `invalid_text` on both databases (PostgreSQL cannot store one; found by
/// schemathesis as a 500 from `POST /api/v1/me/highlights` with a NUL in a segment id).
@Suite struct NULTextTests {
    @Test(arguments: Backend.all)
    func aNULInAJSONBodyIsRefusedTheSameOnBothDatabases(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let token = try await app.signUp("nul_sender")
            let story = try await app.postLive(token, file: try await MediaFixtures.shared.photo())[0]
            let bodies: [(String, String)] = [
                ("/api/v1/me/highlights", #"{"title":"Summer","segmentIds":["\#(story)\u0000"]}"#),
                ("/api/v1/stories/\(story)/comments", #"{"text":"hi\u0000there"}"#),
            ]
            for (path, body) in bodies {
                var headers = HTTPFields()
                headers[.contentType] = "application/json"
                let response = try await app.request(.post, path, token: token, body: ByteBuffer(string: body), headers: headers)
                #expect(response.status == .badRequest && response.errorCode == "invalid_text", "\(path): \(response.text)")
            }
            // An escaped backslash before "u0000" is text, not a NUL.
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            let literal = try await app.request(.post, "/api/v1/stories/\(story)/comments", token: token,
                                                body: ByteBuffer(string: #"{"text":"a \\u0000 b"}"#), headers: headers)
            #expect(literal.status == .created)
        }
    }
}
