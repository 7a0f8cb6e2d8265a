import Foundation
import XCTest
@testable import Storage

/// Every action the vault can write is described in docs/audit.md, and the document describes
/// no action the vault cannot write: someone reading a log finds each action explained.
final class AuditVocabularyTests: XCTestCase {
    func testEveryActionIsDescribedInTheAuditDocumentAndNoOther() throws {
        let documented = try Self.documentedActions()
        let actions = Set(AuditAction.allCases.map(\.rawValue))
        XCTAssertEqual(actions.subtracting(documented).sorted(), [], "actions missing from docs/audit.md")
        XCTAssertEqual(documented.subtracting(actions).sorted(), [], "docs/audit.md describes actions the vault never writes")
    }

    func testActionNamesAreStoredAsTheyWereReleased() {
        // The raw value is hashed into every event: these must never change.
        XCTAssertEqual(AuditAction.`init`.rawValue, "init")
        XCTAssertEqual(AuditAction.signInFailed.rawValue, "sign-in-failed")
        XCTAssertEqual(AuditAction.holdReleaseRequest.rawValue, "hold-release-request")
        XCTAssertEqual(AuditAction.setDOB.rawValue, "set-dob")
        XCTAssertEqual(AuditAction.auditTrail.rawValue, "audit-trail")
    }

    func testActorsAreWrittenInTheDocumentedForms() {
        XCTAssertEqual(AuditActor.user(name: "jo", account: "0123456789abcdef").description, "user:jo#01234567")
        XCTAssertEqual(AuditActor.operator("cli:root").description, "cli:root")
        XCTAssertEqual(AuditActor.link(bundle: "b-1").description, "link:b-1")
        XCTAssertEqual(AuditActor.anonymous.description, "anonymous")
        XCTAssertEqual(AuditActor.system.description, "system")
        let entry = AuditEntry(actor: .user(name: "jo", account: "0123456789abcdef"), action: .stepUp, outcome: .refused)
        XCTAssertEqual(entry.actor, "user:jo#01234567")
        XCTAssertEqual(entry.action, "step-up")
    }

    /// The first column of the actions table under "## Actions and actors".
    static func documentedActions() throws -> Set<String> {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/audit.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        let start = try XCTUnwrap(text.range(of: "## Actions and actors"), "docs/audit.md has no actions section")
        let section = text[start.upperBound...]
        let end = section.range(of: "\n## ")?.lowerBound ?? section.endIndex
        var found = Set<String>()
        for line in section[..<end].split(separator: "\n") where line.hasPrefix("| `") {
            let cell = line.dropFirst(3).prefix { $0 != "`" }
            found.insert(String(cell))
        }
        // The actors table's first column is not an action.
        return found.subtracting(["user:NAME#ID8", "link:BUNDLE", "anonymous", "system", "vault"])
    }
}
