import Foundation
import XCTest
@testable import Vault

/// The preview route as a client sees it: a PNG drawn by the server or plain text, never cached
/// or sniffed, 415 for kinds without one, and nothing for roles that may not read content.
final class PreviewRouteTests: XCTestCase {
    var server: ServerFixture!

    override func setUp() async throws {
        server = try await ServerFixture()
        try server.addOneUserPerRole()
    }

    override func tearDown() async throws { try await server.stop() }

    func upload(_ bytes: [UInt8], type: String, kind: String) async throws -> String {
        let r = try await server.upload(bytes, user: "jo", type: type, school: "S1", kind: kind)
        XCTAssertEqual(r.status, 201, r.text)
        return (r.json as? [String: Any])?["id"] as? String ?? ""
    }

    func sample(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("VaultTests/Samples/\(name)")
        return Array(try Data(contentsOf: url))
    }

    func testAnImageComesBackAsAFreshPNGThatIsNeitherCachedNorSniffed() async throws {
        let id = try await upload(try sample("injury-photo-with-gps.jpg"), type: "image/jpeg", kind: "disclosure")
        let r = try await server.request("GET", "/v1/attachments/\(id)/preview", user: "jo")
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.headers["content-type"], "image/png")
        XCTAssertEqual(r.headers["cache-control"], "no-store")
        XCTAssertEqual(r.headers["x-content-type-options"], "nosniff")
        XCTAssertEqual(r.headers["strongroom-preview-pages"], "1")
        XCTAssertEqual(Array(r.body.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        XCTAssertNil(Data(r.body).range(of: Data("GPS".utf8)))
    }

    func testTextIsPlainTextUnderASandbox() async throws {
        let id = try await upload(Array("Note: he said it happened at home.\n".utf8), type: "text/plain", kind: "disclosure")
        let r = try await server.request("GET", "/v1/attachments/\(id)/preview", user: "dee")
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.headers["content-type"], "text/plain; charset=utf-8")
        XCTAssertEqual(r.headers["content-security-policy"], "default-src 'none'; sandbox")
        XCTAssertEqual(r.text, "Note: he said it happened at home.\n")
    }

    func testNoPreviewIs415AndRolesThatMayNotReadContentGetNone() async throws {
        let docx = try await upload(try sample("tac-meeting-minutes.docx"),
                                    type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", kind: "minutes")
        let none = try await server.request("GET", "/v1/attachments/\(docx)/preview", user: "jo")
        XCTAssertEqual(none.status, 415, none.text)
        XCTAssertEqual((none.json as? [String: Any])?["type"] as? String, "urn:strongroom:problem:no-preview")
        let pdf = try await upload(try sample("strategy-meeting-minutes.pdf"), type: "application/pdf", kind: "minutes")
        for (user, status) in [("sam", 403), ("pat", 403), ("bob", 403), ("ada", 403), ("kim", 404), ("dee", 200)] {
            let r = try await server.request("GET", "/v1/attachments/\(pdf)/preview?page=1", user: user)
            XCTAssertEqual(r.status, status, "\(user): \(r.text)")
        }
        let beyond = try await server.request("GET", "/v1/attachments/\(pdf)/preview?page=2", user: "jo")
        XCTAssertEqual(beyond.status, 400, beyond.text)
        let bad = try await server.request("GET", "/v1/attachments/\(pdf)/preview?page=0", user: "jo")
        XCTAssertEqual(bad.status, 400, bad.text)
    }
}
