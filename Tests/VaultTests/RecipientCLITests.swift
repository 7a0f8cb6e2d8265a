import Foundation
import XCTest

/// The operator keeps a school's directory of agencies at the CLI.
final class RecipientCLITests: XCTestCase {
    func testTheOperatorAddsAndListsRecipientsAndBadOnesAreRefused() throws {
        let dir = temporaryFolder("recipient-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cli = CLI(store: dir + "/store")
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        let key = "age1" + String(repeating: "q", count: 58)  // well-formed length, bad checksum
        XCTAssertEqual(try cli.run(["recipient", "add", "CSC", "--school", "S1", "--age-recipient", key]).status, 65)
        XCTAssertEqual(try cli.run(["recipient", "add", "CSC", "--school", "S1"]).status, 65, "neither kind")
        let added = try cli.run(["recipient", "add", "Police", "--school", "S1", "--passphrase", "--contact", "desk@example.org"])
        XCTAssertEqual(added.status, 0, added.stderr)
        let again = try cli.run(["recipient", "add", "Police", "--school", "S1", "--passphrase"])
        XCTAssertEqual(again.status, 65)
        XCTAssertTrue(again.stderr.contains("already has a recipient"), again.stderr)
        let list = try cli.run(["recipient", "list", "--school", "S1", "--json"])
        XCTAssertEqual(list.status, 0, list.stderr)
        let rows = try XCTUnwrap(list.json as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["name"] as? String }, ["Police"])
        XCTAssertEqual(rows.first?["passphrase"] as? Bool, true)
        let log = try cli.run(["audit", "log", "--json"])
        XCTAssertTrue(log.stdout.contains("recipient-add"), "the addition is audited")
    }
}
