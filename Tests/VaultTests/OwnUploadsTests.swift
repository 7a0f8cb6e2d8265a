import Foundation
import Storage
import XCTest
@testable import Vault

/// A person's own uploads across their schools: decided by their account, never by the name,
/// and only in schools they still work in.
final class OwnUploadsTests: XCTestCase {
    func testAPersonSeesTheirOwnUploadsInTheirSchoolsAndNothingElse() throws {
        let f = try VaultFixture()
        let sam = try f.signIn("sam", .staff, schools: ["S1", "S2"])
        let other = try f.signIn("tom", .staff, schools: ["S1"])
        let first = try f.put(Array("first note".utf8), kind: "disclosure", child: "C1", by: .integration(sam))
        let second = try f.put(Array("second note".utf8), kind: "disclosure", school: "S2", child: "C7", by: .integration(sam))
        try f.put(Array("tom's note".utf8), kind: "disclosure", child: "C1", by: .integration(other))
        try f.put(Array("the operator's".utf8), kind: "disclosure", child: "C1")

        let mine = try f.vault.records.ownUploads(limit: 50, offset: 0, by: .integration(sam))
        XCTAssertEqual(mine.map(\.id), [first.id, second.id], "oldest first, across both schools")
        XCTAssertEqual(try f.vault.records.ownUploads(limit: 1, offset: 1, by: .integration(sam)).map(\.id), [second.id])

        // The same name added again after a revocation is another account, with no uploads.
        try f.vault.users.revoke(name: "sam", by: .operator("test"))
        let again = try f.signIn("sam", .staff, schools: ["S1", "S2"])
        XCTAssertEqual(try f.vault.records.ownUploads(limit: 50, offset: 0, by: .integration(again)), [])

        // Someone moved out of a school no longer sees what they attached there.
        let moved = Principal(name: sam.name, role: .staff, schools: ["S2"], account: sam.account)
        XCTAssertEqual(try f.vault.records.ownUploads(limit: 50, offset: 0, by: .integration(moved)).map(\.id), [second.id])

        let listed = try f.events.filter { $0.action == "list" && $0.outcome == "ok" }
        XCTAssertTrue(listed.contains { $0.reason == "2 records, own uploads across schools" }, "\(listed.map(\.reason))")
    }

    func testTheOperatorAndRolesWithoutTheListGrantAreRefused() throws {
        let f = try VaultFixture()
        let bob = try f.signIn("bob", .backup, schools: ["S1"])
        XCTAssertThrowsError(try f.vault.records.ownUploads(limit: 50, offset: 0, by: .integration(bob))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.records.ownUploads(limit: 50, offset: 0, by: .operator("test"))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.records.ownUploads(limit: 0, offset: 0, by: .integration(bob))) {
            guard case VaultError.invalidArgument = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try f.events.filter { $0.action == "list" && $0.outcome == "denied" }.count, 2)
    }
}
