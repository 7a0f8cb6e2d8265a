import Foundation
import KeyManagement
import Storage
import XCTest
@testable import Vault

/// Who is calling is one required value, and each kind of caller gets exactly what it may: a
/// person with a recent second factor, an integration's token, the operator at the CLI, or
/// someone holding only a link. Every refusal is in the audit log.
final class CallerTests: XCTestCase {
    var clock: TestClock!
    var f: VaultFixture!
    var dsl: Principal!
    var dpo: Principal!

    override func setUpWithError() throws {
        clock = TestClock("2026-03-02")
        var options = Vault.Options()
        let c = clock!
        options.clock = { c.read() }
        f = try VaultFixture(options: options)
        dsl = try f.signIn("dsl1", .dsl, schools: ["S1"])
        dpo = try f.signIn("dpo1", .dpo, schools: ["S1"])
    }

    /// A person whose last second factor was `ago` seconds before now.
    func person(_ principal: Principal, factorAgo ago: TimeInterval) -> Caller {
        .person(principal, session: SessionFacts(handle: "0123456789abcdef", factorAt: clock.read().addingTimeInterval(-ago)))
    }

    func testAPersonMustHaveGivenASecondFactorRecentlyToDownloadEvidence() throws {
        let record = try f.put(Array("a disclosure".utf8), kind: "disclosure")
        let stale = person(dsl, factorAgo: Vault.defaultStepUpWindow + 1)
        XCTAssertThrowsError(try f.get(record.id, by: stale)) {
            guard case VaultError.stepUpRequired(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("confirm it is you"), why)
        }
        let refused = try f.events.filter { $0.action == "step-up" && $0.outcome == "refused" }
        XCTAssertEqual(refused.count, 1)
        XCTAssertEqual(refused.first?.actor, dsl.actor.description)
        XCTAssertTrue(refused.first?.reason?.contains("downloading evidence") ?? false)
        XCTAssertFalse(try f.events.contains { $0.action == "get" && $0.outcome == "ok" }, "nothing was read")

        XCTAssertEqual(try f.get(record.id, by: person(dsl, factorAgo: 10)), Array("a disclosure".utf8))
    }

    func testStepUpIsAskedOnlyOfTheActsThatNeedIt() throws {
        let record = try f.put(Array("minutes".utf8), kind: "minutes")
        let stale = person(dsl, factorAgo: 3600)
        XCTAssertEqual(try f.vault.records.show(id: record.id, by: stale).id, record.id, "metadata needs no step-up")
        XCTAssertEqual(try f.vault.records.chronology(child: "C1", school: "S1", limit: 10, offset: 0, by: stale).count, 1)
        for act in [
            { _ = try self.f.vault.lifecycle.placeHold(school: "S1", scope: .child, target: "C1", reason: "police inquiry", by: stale) },
            { _ = try self.f.vault.lifecycle.approveShred(id: "shred-0000000000000000", by: stale) },
            { _ = try self.f.vault.bundles.approveBundle(id: "bundle-0000000000000000", by: stale) },
        ] as [() throws -> Void] {
            XCTAssertThrowsError(try act()) {
                guard case VaultError.stepUpRequired = $0 else { return XCTFail("\($0)") }
            }
        }
    }

    func testAnIntegrationTokenIsNotAskedForStepUpButKeepsItsRole() throws {
        let record = try f.put(Array("a letter".utf8), kind: "minutes")
        XCTAssertEqual(try f.get(record.id, by: .integration(dsl)), Array("a letter".utf8))
        XCTAssertThrowsError(try f.get(record.id, by: .integration(dpo))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
    }

    func testALinkHolderCannotReadEvidenceAndTheAttemptIsAudited() throws {
        let record = try f.put(Array("body map".utf8), kind: "minutes")
        XCTAssertThrowsError(try f.get(record.id, by: .linkHolder(source: "198.51.100.7"))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.records.chronology(child: "C1", school: "S1", limit: 10, offset: 0, by: .linkHolder(source: "198.51.100.7")))
        let denied = try f.events.filter { $0.actor == "anonymous" && $0.outcome == "denied" }
        XCTAssertEqual(Set(denied.map(\.action)), ["get", "list"])
    }

    func testOnlyTheOperatorRunsKeysBackupsAndTheWholeLog() throws {
        let asPerson = person(dsl, factorAgo: 0)
        _ = try BackupSigningKey.create(at: f.root + "/operator.key")
        let acts: [(String, () throws -> Void)] = [
            ("kek-rotate", { _ = try self.f.vault.keys.rotateKEKs(by: asPerson) }),
            ("audit-read", { _ = try self.f.vault.audit.log(record: nil, by: asPerson) }),
            ("verify", { _ = try self.f.vault.audit.verify(by: .integration(self.dsl), useKeys: true) }),
            ("user-add", { _ = try self.f.vault.users.addIntegration(name: "mallory", role: .admin, schools: ["S1"], by: asPerson) }),
            ("user-add", { _ = try self.f.vault.users.addPerson(name: "mallory", role: .dsl, schools: ["S1"], by: .integration(self.dsl)) }),
            ("user-reset", { _ = try self.f.vault.users.resetPerson(name: "dsl1", by: asPerson) }),
            ("backup-create", { _ = try self.f.vault.backups.create(to: self.f.root + "/b", signingKey: try BackupSigningKey.open(at: self.f.root + "/operator.key"), by: asPerson) }),
        ]
        for (action, act) in acts {
            XCTAssertThrowsError(try act(), action) {
                guard case VaultError.forbidden(let why) = $0 else { return XCTFail("\(action): \($0)") }
                XCTAssertTrue(why.contains("operator"), why)
            }
            XCTAssertTrue(try f.events.contains { $0.action == action && $0.outcome == "denied" && $0.actor == dsl.actor.description }, action)
        }
        XCTAssertFalse(try f.vault.users.list(by: .operator("test")).contains { $0.name == "mallory" })
    }

    func testHoldsAndShredsNeedSomeoneWithARoleNotTheOperator() throws {
        XCTAssertThrowsError(try f.vault.lifecycle.placeHold(school: "S1", scope: .child, target: "C1", reason: "inquiry", by: .operator("root"))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.lifecycle.requestShred(school: "S1", records: [], reason: "retention", by: .operator("root")))
        XCTAssertEqual(try f.events.filter { $0.actor == "root" && $0.outcome == "denied" }.map(\.action), ["hold", "shred"])
    }
}
