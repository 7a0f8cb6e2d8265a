import XCTest
@testable import StrongroomServer

/// Where the sign-in and confirm pages go afterwards: only a path on this service.
final class NextPathTests: XCTestCase {
    func testAPathOnThisServiceIsKept() {
        XCTAssertEqual(NextPath("/v1/attachments/abc").path, "/v1/attachments/abc")
        XCTAssertEqual(NextPath("/confirm?next=/account").path, "/confirm?next=/account")
        XCTAssertEqual(NextPath("/").path, "/")
    }

    func testAnythingThatCouldLeaveTheSiteGoesToTheAccountPage() {
        for raw in ["//evil.example/", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "evil.example",
                    "", "/ /evil", "/\t/evil.example", "/\n/evil", "/a\u{7F}", "/caf\u{E9}", "/" + String(repeating: "a", count: 3000)] {
            XCTAssertEqual(NextPath(raw).path, "/account", raw)
        }
        XCTAssertEqual(NextPath(nil).path, "/account")
    }
}
