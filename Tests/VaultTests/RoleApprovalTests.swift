import Foundation
import Storage
import XCTest
@testable import Vault

/// Administrators add people to their own schools in the console; a role that reads or governs
/// safeguarding records waits for a second person, whose approval alone makes the link work.
final class RoleApprovalTests: XCTestCase {
    /// A person added by the operator, as they appear signed in with a fresh second factor.
    private func person(_ f: VaultFixture, _ name: String, _ role: Role, schools: [String] = ["S1"], factorAt: Date = Date()) throws -> Caller {
        let issued = try f.vault.users.addPerson(name: name, role: role, schools: schools, by: .operator("test"))
        let principal = Principal(name: name, role: role, schools: Set(schools), account: issued.user.id)
        return .person(principal, session: SessionFacts(handle: "0123456789abcdef", factorAt: factorAt))
    }

    private func assertWaiting(_ f: VaultFixture, _ token: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try f.vault.users.enrolment(token: token), file: file, line: line) {
            XCTAssertEqual($0 as? VaultError, .signIn(.enrolmentAwaitingApproval), file: file, line: line)
        }
    }

    private func assertUnusable(_ f: VaultFixture, _ token: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try f.vault.users.enrolment(token: token), file: file, line: line) {
            XCTAssertEqual($0 as? VaultError, .signIn(.enrolmentUnusable), file: file, line: line)
        }
    }

    func testStaffAddedByAnAdministratorHaveALinkThatWorksAtOnce() throws {
        let f = try VaultFixture()
        let admin = try person(f, "ada", .admin)
        let added = try f.vault.people.add(name: "sam", role: .staff, schools: ["S1"], by: admin)
        XCTAssertFalse(added.waitsForApproval)
        XCTAssertEqual(try f.vault.users.enrolment(token: added.token).name, "sam")
    }

    func testADSLsLinkWaitsUntilADSLOfTheirSchoolApprovesIt() throws {
        let f = try VaultFixture()
        let admin = try person(f, "ada", .admin)
        let dsl = try person(f, "dina", .dsl)
        let added = try f.vault.people.add(name: "newdsl", role: .dsl, schools: ["S1"], by: admin)
        XCTAssertTrue(added.waitsForApproval)
        assertWaiting(f, added.token)
        XCTAssertEqual(try f.vault.people.approvals(by: dsl).map(\.name), ["newdsl"])

        try f.vault.people.approve(account: added.user.id, by: dsl)
        XCTAssertEqual(try f.vault.users.enrolment(token: added.token).role, "dsl")
        XCTAssertEqual(try f.vault.people.approvals(by: dsl), [])
        let event = try XCTUnwrap(try f.events.last { $0.action == "user-approve" })
        XCTAssertEqual(event.outcome, "ok")
        XCTAssertTrue(event.reason?.contains("asked by user:ada#") ?? false, event.reason ?? "")
    }

    func testNoOneApprovesTheirOwnRequest() throws {
        let f = try VaultFixture()
        let admin = try person(f, "ada", .admin)
        let added = try f.vault.people.add(name: "newdpo", role: .dpo, schools: ["S1"], by: admin)
        XCTAssertEqual(try f.vault.people.approvals(by: admin).map(\.askedByViewer), [true])
        XCTAssertThrowsError(try f.vault.people.approve(account: added.user.id, by: admin)) {
            guard case .forbidden? = $0 as? VaultError else { return XCTFail("\($0)") }
        }
        assertWaiting(f, added.token)
        XCTAssertEqual(try f.events.last { $0.action == "user-approve" }?.outcome, "denied")
    }

    func testAnotherAdministratorOfTheSchoolMayApprove() throws {
        let f = try VaultFixture()
        let admin = try person(f, "ada", .admin)
        let other = try person(f, "otto", .admin)
        let added = try f.vault.people.add(name: "newadmin", role: .admin, schools: ["S1"], by: admin)
        try f.vault.people.approve(account: added.user.id, by: other)
        XCTAssertEqual(try f.vault.users.enrolment(token: added.token).name, "newadmin")
    }

    func testADeputyADPOAndApproversOfOtherSchoolsCannotApprove() throws {
        let f = try VaultFixture()
        let admin = try person(f, "ada", .admin)
        let deputy = try person(f, "dep", .deputy)
        let dpo = try person(f, "dee", .dpo)
        let elsewhere = try person(f, "ella", .dsl, schools: ["S2"])
        let added = try f.vault.people.add(name: "newdsl", role: .dsl, schools: ["S1"], by: admin)
        for caller in [deputy, dpo] {
            XCTAssertThrowsError(try f.vault.people.approve(account: added.user.id, by: caller)) {
                guard case .forbidden? = $0 as? VaultError else { return XCTFail("\($0)") }
            }
        }
        XCTAssertEqual(try f.vault.people.approvals(by: elsewhere), [])
        XCTAssertThrowsError(try f.vault.people.approve(account: added.user.id, by: elsewhere)) {
            guard case .notFound? = $0 as? VaultError else { return XCTFail("\($0)") }
        }
        assertWaiting(f, added.token)
    }

    func testDecliningRevokesThePersonAndTheirLinkNeverWorks() throws {
        let f = try VaultFixture()
        let admin = try person(f, "ada", .admin)
        let dsl = try person(f, "dina", .dsl)
        let added = try f.vault.people.add(name: "newdsl", role: .dsl, schools: ["S1"], by: admin)
        try f.vault.people.decline(account: added.user.id, by: dsl)
        assertUnusable(f, added.token)
        XCTAssertEqual(try f.vault.people.list(by: admin).first { $0.name == "newdsl" }?.state, .declined)
        XCTAssertThrowsError(try f.vault.people.approve(account: added.user.id, by: dsl)) {
            guard case .conflict? = $0 as? VaultError else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try f.events.last { $0.action == "user-decline" }?.outcome, "ok")
    }

    func testARequestMarkedApprovedInTheDatabaseEnrolsNobody() throws {
        let f = try VaultFixture()
        let admin = try person(f, "ada", .admin)
        let added = try f.vault.people.add(name: "newdsl", role: .dsl, schools: ["S1"], by: admin)
        // Someone who can write the database but holds no master key cannot sign an enrolment.
        try f.tamper("UPDATE role_approvals SET state = 'approved'")
        assertUnusable(f, added.token)
        try f.tamper("DELETE FROM role_approvals")
        assertUnusable(f, added.token)
    }

    func testAdministratorsAddOnlyToTheirOwnSchoolsAndOnlyWithAFreshFactor() throws {
        let f = try VaultFixture()
        let admin = try person(f, "ada", .admin)
        XCTAssertThrowsError(try f.vault.people.add(name: "x", role: .staff, schools: ["S1", "S2"], by: admin)) {
            guard case .forbidden? = $0 as? VaultError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.people.add(name: "x", role: .backup, schools: ["S1"], by: admin)) {
            guard case .forbidden? = $0 as? VaultError else { return XCTFail("\($0)") }
        }
        let dsl = try person(f, "dina", .dsl)
        XCTAssertThrowsError(try f.vault.people.add(name: "x", role: .staff, schools: ["S1"], by: dsl)) {
            guard case .forbidden? = $0 as? VaultError else { return XCTFail("\($0)") }
        }
        let stale = try person(f, "otto", .admin, factorAt: Date(timeIntervalSinceNow: -3600))
        XCTAssertThrowsError(try f.vault.people.add(name: "x", role: .staff, schools: ["S1"], by: stale)) {
            guard case .stepUpRequired? = $0 as? VaultError else { return XCTFail("\($0)") }
        }
        let integration = try f.signIn("robot", .admin, schools: ["S1"])
        XCTAssertThrowsError(try f.vault.people.add(name: "x", role: .staff, schools: ["S1"], by: .integration(integration))) {
            guard case .forbidden? = $0 as? VaultError else { return XCTFail("\($0)") }
        }
        XCTAssertFalse(try f.vault.users.list(by: .operator("test")).contains { $0.name == "x" })
    }

    func testAnAdministratorRevokesOthersOfTheirSchoolsButNotThemselves() throws {
        let f = try VaultFixture()
        let admin = try person(f, "ada", .admin)
        guard case .person(let me, _) = admin else { return XCTFail() }
        XCTAssertThrowsError(try f.vault.people.revoke(account: me.account, by: admin)) {
            guard case .forbidden? = $0 as? VaultError else { return XCTFail("\($0)") }
        }
        let staff = try f.vault.people.add(name: "sam", role: .staff, schools: ["S1"], by: admin)
        let elsewhere = try f.vault.users.addPerson(name: "far", role: .staff, schools: ["S2"], by: .operator("test"))
        XCTAssertThrowsError(try f.vault.people.revoke(account: elsewhere.user.id, by: admin)) {
            guard case .notFound? = $0 as? VaultError else { return XCTFail("\($0)") }
        }
        try f.vault.people.revoke(account: staff.user.id, by: admin)
        assertUnusable(f, staff.token)
        let listed = try f.vault.people.list(by: admin)
        XCTAssertEqual(listed.first { $0.name == "sam" }?.state, .revoked)
        XCTAssertNil(listed.first { $0.name == "far" }, "a person of another school is not listed")
        XCTAssertEqual(listed.first { $0.name == "ada" }?.state, .linkUnused)
    }

    func testARemovedRecipientIsGoneAndTheRemovalAudited() throws {
        let f = try VaultFixture()
        let dsl = try person(f, "dina", .dsl)
        _ = try f.vault.bundles.addRecipient(.init(school: "S1", name: "Police", ageRecipient: nil, passphrase: true), by: dsl)
        try f.vault.bundles.removeRecipient(school: "S1", name: "Police", by: dsl)
        XCTAssertEqual(try f.vault.bundles.recipients(school: "S1", by: dsl), [])
        XCTAssertEqual(try f.events.last { $0.action == "recipient-remove" }?.outcome, "ok")
        XCTAssertThrowsError(try f.vault.bundles.removeRecipient(school: "S1", name: "Police", by: dsl)) {
            guard case .notFound? = $0 as? VaultError else { return XCTFail("\($0)") }
        }
        let staff = try person(f, "sam", .staff)
        XCTAssertThrowsError(try f.vault.bundles.removeRecipient(school: "S1", name: "Police", by: staff)) {
            guard case .forbidden? = $0 as? VaultError else { return XCTFail("\($0)") }
        }
    }

    func testWaitingCountsFollowEachRolesSide() throws {
        let f = try VaultFixture()
        let admin = try person(f, "ada", .admin)
        let dsl = try person(f, "dina", .dsl)
        let deputy = try person(f, "dep", .deputy)
        let dpo = try person(f, "dee", .dpo)
        let staff = try person(f, "sam", .staff)
        let record = try f.put(Array("Meeting minutes.\n".utf8), kind: "minutes", by: dsl)
        _ = try f.vault.bundles.addRecipient(.init(school: "S1", name: "Police", ageRecipient: nil, passphrase: true), by: dsl)
        _ = try f.vault.bundles.createBundle(BundleRequest(school: "S1", recipient: "Police", reason: "r",
                                                           items: [.init(record: record.id, mode: .asIs)]), by: dsl)
        _ = try f.vault.lifecycle.requestShred(school: "S1", records: [record.id], reason: "past retention", by: dpo)
        _ = try f.vault.people.add(name: "newdsl", role: .dsl, schools: ["S1"], by: admin)

        XCTAssertEqual(try f.vault.people.waiting(by: dsl), WaitingCounts(bundlesToApprove: 0, shredsToApprove: 1, peopleToApprove: 1))
        XCTAssertEqual(try f.vault.people.waiting(by: deputy), WaitingCounts(bundlesToApprove: 1, shredsToApprove: 1, peopleToApprove: 0))
        XCTAssertEqual(try f.vault.people.waiting(by: dpo), WaitingCounts())
        XCTAssertEqual(try f.vault.people.waiting(by: admin), WaitingCounts(), "the administrator asked: nothing for them to approve")
        XCTAssertEqual(try f.vault.people.waiting(by: staff), WaitingCounts())
        let otherSchool = try person(f, "far", .dsl, schools: ["S2"])
        XCTAssertEqual(try f.vault.people.waiting(by: otherSchool), WaitingCounts())
    }
}
