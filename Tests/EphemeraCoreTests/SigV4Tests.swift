import EphemeraObjectStore
import Foundation
import Testing

/// SigV4 against the examples AWS publishes for S3 ("Signature Calculations for the Authorization Header:
/// Transferring Payload in a Single Chunk" and "Authenticating Requests: Using Query Parameters"): the same
/// credentials, date and requests, the signatures AWS prints.
@Suite struct SigV4Tests {
    let signer = SigV4(credentials: .init(accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                                          secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                       region: "us-east-1")
    /// 2013-05-24T00:00:00Z
    let date = Date(timeIntervalSince1970: 1_369_353_600)
    let host = "examplebucket.s3.amazonaws.com"

    @Test func getObjectWithRange() {
        let authorization = signer.authorization(for: .init(
            method: "GET", encodedPath: "/test.txt",
            headers: [("Host", host), ("Range", "bytes=0-9"), ("x-amz-content-sha256", SigV4.emptyPayloadHash),
                      ("x-amz-date", "20130524T000000Z")],
            payloadHash: SigV4.emptyPayloadHash), at: date)
        #expect(authorization == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func putObjectWithAKeyThatNeedsEncoding() {
        let payload = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        #expect(SigV4.sha256Hex(Data("Welcome to Amazon S3.".utf8)) == payload)
        let path = "/" + SigV4.encode("test$file.text", keepingSlashes: true)
        #expect(path == "/test%24file.text")
        let authorization = signer.authorization(for: .init(
            method: "PUT", encodedPath: path,
            headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("Host", host), ("x-amz-content-sha256", payload),
                      ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
            payloadHash: payload), at: date)
        #expect(authorization.hasSuffix("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
            + "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"))
    }

    @Test func listObjectsSortsAndEncodesTheQuery() {
        let authorization = signer.authorization(for: .init(
            method: "GET", encodedPath: "/", query: [("prefix", "J"), ("max-keys", "2")],
            headers: [("Host", host), ("x-amz-content-sha256", SigV4.emptyPayloadHash), ("x-amz-date", "20130524T000000Z")],
            payloadHash: SigV4.emptyPayloadHash), at: date)
        #expect(authorization.hasSuffix("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"))
    }

    @Test func queryItemWithoutAValue() {
        let authorization = signer.authorization(for: .init(
            method: "GET", encodedPath: "/", query: [("lifecycle", "")],
            headers: [("Host", host), ("x-amz-content-sha256", SigV4.emptyPayloadHash), ("x-amz-date", "20130524T000000Z")],
            payloadHash: SigV4.emptyPayloadHash), at: date)
        #expect(authorization.hasSuffix("Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"))
    }

    @Test func presignedGet() {
        let query = signer.presignedQuery(method: "GET", host: host, encodedPath: "/test.txt", expires: 86400, at: date)
        #expect(SigV4.queryString(query) == "X-Amz-Algorithm=AWS4-HMAC-SHA256"
            + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    @Test func addressingPathStyleAndVirtualHosted() {
        let credentials = SigV4.Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                                            secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        let virtual = S3Client(configuration: .init(endpoint: URL(string: "https://s3.amazonaws.com")!, bucket: "examplebucket",
                                                    pathStyle: false, credentials: credentials))
        // The same presigned URL AWS prints, from the client's own addressing.
        #expect(virtual.presignedGET("test.txt", expires: 86400, at: date) == "https://examplebucket.s3.amazonaws.com/test.txt?"
            + "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
        let pathStyle = S3Client(configuration: .init(endpoint: URL(string: "http://127.0.0.1:8333")!, bucket: "media",
                                                      pathStyle: true, credentials: credentials))
        #expect(pathStyle.presignedGET("media/a b/video", expires: 60, at: date)
            .hasPrefix("http://127.0.0.1:8333/media/media/a%20b/video?X-Amz-Algorithm="))
    }
}

@Suite struct SigV4StampTests {
    /// The arithmetic stamps agree with the calendar's for leap days, year ends, centuries and a spread of
    /// instants.
    @Test func stampsAgreeWithTheCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let edges: [TimeInterval] = [0, 59, 86399, 86400, 951_782_400, 951_868_799, 1_709_164_800, 1_709_251_199,
                                     946_684_799, 946_684_800, 4_107_542_400, 1_369_353_600, -1, -86401]
        var generator = SystemRandomNumberGenerator()
        let spread = (0..<2000).map { _ in TimeInterval(Int64.random(in: 0...4_102_444_800, using: &generator)) }
        for seconds in edges + spread {
            let date = Date(timeIntervalSince1970: seconds)
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            let day = String(format: "%04d%02d%02d", c.year!, c.month!, c.day!)
            let expected = (day + String(format: "T%02d%02d%02dZ", c.hour!, c.minute!, c.second!), day)
            #expect(SigV4.stamps(date) == expected, "\(seconds)")
        }
    }
}
