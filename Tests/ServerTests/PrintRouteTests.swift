import Foundation
import XCTest
@testable import Vault

/// The printed chronology over HTTP: a PDF saved as a file, never cached, for those who see the
/// school's records.
final class PrintRouteTests: XCTestCase {
    var server: ServerFixture!

    override func setUp() async throws {
        server = try await ServerFixture()
        try server.addOneUserPerRole()
    }

    override func tearDown() async throws { try await server.stop() }

    func testADSLDownloadsThePrintoutAsAFileAndStaffCannot() async throws {
        let up = try await server.upload(Array("A note.\n".utf8), user: "sam", type: "text/plain", school: "S1", kind: "disclosure")
        XCTAssertEqual(up.status, 201, up.text)
        let r = try await server.request("GET", "/v1/children/C1/chronology.pdf?school=S1", user: "pat")
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.headers["content-type"], "application/pdf")
        XCTAssertEqual(r.headers["content-disposition"], "attachment; filename=\"chronology-C1.pdf\"")
        XCTAssertEqual(r.headers["cache-control"], "no-store")
        XCTAssertTrue(r.body.starts(with: Array("%PDF-".utf8)))
        for (user, status) in [("sam", 403), ("bob", 403), ("kim", 403)] {
            let refused = try await server.request("GET", "/v1/children/C1/chronology.pdf?school=S1", user: user)
            XCTAssertEqual(refused.status, status, "\(user): \(refused.text)")
        }
    }
}
