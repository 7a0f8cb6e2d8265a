import XCTest
@testable import StrongroomServer

/// Sessions are listed by browser and system a person recognises, never the raw header.
final class BrowserNameTests: XCTestCase {
    func testCommonBrowsersAreNamedWithTheirSystem() {
        let cases = [
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0", "Edge on Windows"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome on Windows"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "Safari on iPhone"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15", "Safari on Mac"),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox on Linux"),
            ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", "Chrome on Android"),
            ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome on Chromebook"),
        ]
        for (agent, expected) in cases { XCTAssertEqual(BrowserName.text(agent), expected, agent) }
    }

    func testAnythingElseShowsNothingTheClientWrote() {
        XCTAssertEqual(BrowserName.text(""), "Unknown browser")
        XCTAssertEqual(BrowserName.text("curl/8.5.0"), "Unknown browser")
        XCTAssertEqual(BrowserName.text("<script>alert(1)</script> Windows"), "A browser on Windows")
    }
}
