import Foundation
import Storage
import XCTest
@testable import Vault

/// The DPO's desk: listing and withdrawing shred requests, previewing a date of birth, and the
/// oversight counts with their small-number rule.
final class RetentionDeskTests: XCTestCase {
    var clock: TestClock!
    var f: VaultFixture!
    var dsl: Principal!
    var deputy: Principal!
    var dpo: Principal!
    var otherDSL: Principal!
    var staff: Principal!

    override func setUpWithError() throws {
        clock = TestClock("2026-01-15")
        var options = Vault.Options()
        let c = clock!
        options.clock = { c.read() }
        f = try VaultFixture(options: options)
        dsl = try f.signIn("dsl1", .dsl, schools: ["S1"])
        deputy = try f.signIn("deputy1", .deputy, schools: ["S1"])
        dpo = try f.signIn("dpo1", .dpo, schools: ["S1", "S2"])
        otherDSL = try f.signIn("dsl2", .dsl, schools: ["S2"])
        staff = try f.signIn("staff1", .staff, schools: ["S1"])
    }

    func put(_ text: String, school: String = "S1", child: String = "C1", kind: String = "disclosure") throws -> EvidenceRecord {
        try f.put(Array("Note of a disclosure, written down by staff: \(text).\n".utf8), kind: kind, school: school, child: child, concern: "K1")
    }

    func events(_ action: String) throws -> [AuditEvent] { try f.events.filter { $0.action == action } }

    // MARK: withdrawing a shred request

    func testTheRequesterWithdrawsAPendingRequestAndItCanNeverBeApproved() throws {
        let r = try put("a")
        let request = try f.vault.lifecycle.requestShred(school: "S1", records: [r.id], reason: "retention reviewed", by: .integration(dpo))
        let withdrawn = try f.vault.lifecycle.withdrawShred(id: request.id, by: .integration(dpo))
        XCTAssertEqual(withdrawn.state, .withdrawn)
        XCTAssertEqual(withdrawn.withdrawnBy, dpo.actor.description)
        XCTAssertEqual(try f.vault.lifecycle.shredRequest(id: request.id)?.state, .withdrawn, "stored")
        XCTAssertThrowsError(try f.vault.lifecycle.approveShred(id: request.id, by: .integration(dsl))) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("withdrawn"), why)
        }
        XCTAssertEqual(try f.get(r.id), Array("Note of a disclosure, written down by staff: a.\n".utf8), "the record is untouched")
        XCTAssertThrowsError(try f.vault.lifecycle.withdrawShred(id: request.id, by: .integration(dpo)), "not twice") {
            guard case VaultError.conflict = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try events("shred-withdraw").map(\.outcome), ["ok", "refused"])
        XCTAssertEqual(try events("shred-approve").filter { $0.outcome == "refused" }.count, 1)
    }

    func testOnlyTheRequesterMayWithdrawAndOnlyWhilePending() throws {
        let r = try put("a")
        let request = try f.vault.lifecycle.requestShred(school: "S1", records: [r.id], reason: "retention reviewed", by: .integration(dsl))
        for (who, expected) in [(deputy!, "conflict"), (dpo!, "conflict"), (otherDSL!, "notFound"), (staff!, "forbidden")] {
            XCTAssertThrowsError(try f.vault.lifecycle.withdrawShred(id: request.id, by: .integration(who)), who.name) { error in
                switch (error as? VaultError, expected) {
                case (.conflict?, "conflict"), (.notFound?, "notFound"), (.forbidden?, "forbidden"): break
                default: XCTFail("\(who.name): \(error)")
                }
            }
        }
        XCTAssertEqual(try f.vault.lifecycle.shredRequest(id: request.id)?.state, .pending)
        _ = try f.vault.lifecycle.approveShred(id: request.id, by: .integration(dpo))
        let listed = try XCTUnwrap(try f.vault.lifecycle.shredRequests(school: "S1", by: .integration(dsl)).first)
        XCTAssertEqual(listed.request.state, .done)
        XCTAssertNil(listed.request.certificate, "a listing leaves the certificates out")
        let file = try f.vault.lifecycle.storedCertificate(id: request.id, by: .integration(dsl))
        XCTAssertEqual(try CertificateOfDestruction.verify(file, publicKey: f.vault.publicKey).request, request.id)
        XCTAssertThrowsError(try f.vault.lifecycle.storedCertificate(id: request.id, by: .integration(otherDSL))) {
            guard case VaultError.notFound = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.lifecycle.withdrawShred(id: request.id, by: .integration(dsl)), "once approved") {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("done"), why)
        }
        XCTAssertThrowsError(try f.vault.lifecycle.withdrawShred(id: "shred-0000000000000000", by: .integration(dsl))) {
            guard case VaultError.notFound = $0 else { return XCTFail("\($0)") }
        }
    }

    // MARK: listing shred requests

    func testRequestsAreListedForTheirSchoolsWithLiveRecordsAndHoldsAndWhomTheyWaitFor() throws {
        let a = try put("a"), b = try put("b", child: "C2")
        let foreign = try put("c", school: "S2", child: "C9")
        let request = try f.vault.lifecycle.requestShred(school: "S1", records: [a.id, b.id], reason: "retention reviewed", by: .integration(dpo))
        let other = try f.vault.lifecycle.requestShred(school: "S2", records: [foreign.id], reason: "retention reviewed", by: .integration(dpo))
        _ = try f.vault.lifecycle.placeHold(school: "S1", scope: .child, target: "C2", reason: "police investigation", by: .integration(dsl))

        let seenByDSL = try f.vault.lifecycle.shredRequests(school: nil, by: .integration(dsl))
        XCTAssertEqual(seenByDSL.map(\.request.id), [request.id], "only the DSL's school")
        let entry = try XCTUnwrap(seenByDSL.first)
        XCTAssertEqual(entry.items.map(\.id).sorted(), [a.id, b.id].sorted())
        XCTAssertEqual(entry.items.first { $0.id == b.id }?.held, true)
        XCTAssertEqual(entry.items.first { $0.id == a.id }?.held, false)
        let now = Int64(clock.read().timeIntervalSince1970 * 1000)
        XCTAssertTrue(entry.waits(for: dsl, nowMillis: now), "a DPO asked: a DSL approves")
        XCTAssertTrue(entry.waits(for: deputy, nowMillis: now))
        XCTAssertFalse(entry.waits(for: dpo, nowMillis: now), "not the requester")
        XCTAssertTrue(entry.isOwn(dpo))
        XCTAssertFalse(entry.waits(for: dsl, nowMillis: now + 31 * 86_400_000), "lapsed")

        XCTAssertEqual(Set(try f.vault.lifecycle.shredRequests(school: nil, by: .integration(dpo)).map(\.request.id)), [request.id, other.id])
        XCTAssertEqual(try f.vault.lifecycle.shredRequests(school: "S2", by: .integration(dpo)).map(\.request.id), [other.id])
        XCTAssertThrowsError(try f.vault.lifecycle.shredRequests(school: "S2", by: .integration(dsl)))
        XCTAssertThrowsError(try f.vault.lifecycle.shredRequests(school: nil, by: .integration(staff)))
        XCTAssertEqual(try events("shred-list").filter { $0.outcome == "ok" }.count, 3)

        _ = try f.vault.lifecycle.withdrawShred(id: request.id, by: .integration(dpo))
        let after = try XCTUnwrap(try f.vault.lifecycle.shredRequests(school: "S1", by: .integration(dsl)).first)
        XCTAssertEqual(after.request.state, .withdrawn)
        XCTAssertEqual(after.items, [], "a request no longer pending lists no records")
        XCTAssertFalse(after.waits(for: dsl, nowMillis: now))
    }

    // MARK: date of birth preview

    func testThePreviewShowsExactlyTheReviewDatesSavingSetsAndSavesNothing() throws {
        let a = try put("a")
        clock.advance(days: 40)
        let b = try put("b", kind: "minutes")
        _ = try put("other child", child: "C2")
        let preview = try f.vault.lifecycle.previewDateOfBirth(child: "C1", dob: "2012-02-29", school: "S1", by: .integration(dsl))
        XCTAssertEqual(preview.map(\.record), [a.id, b.id], "oldest first, only this child")
        XCTAssertEqual(preview.map(\.reviewOn), [a.reviewOn, b.reviewOn], "the dates they have now")
        XCTAssertEqual(try f.vault.catalog.record(id: a.id)?.reviewOn, a.reviewOn, "nothing saved")
        XCTAssertEqual(try f.vault.catalog.record(id: a.id)?.kekID, a.kekID)
        XCTAssertEqual(try events("set-dob").count, 0)

        XCTAssertEqual(try f.vault.lifecycle.setDateOfBirth(child: "C1", dob: "2012-02-29", school: "S1", by: .integration(dsl)), 2)
        for change in preview {
            XCTAssertEqual(try f.vault.catalog.record(id: change.record)?.reviewOn, change.newReviewOn, "saving set what the preview showed")
        }
        XCTAssertNotEqual(preview.map(\.newReviewOn), preview.map(\.reviewOn), "the date of birth moved them")
        XCTAssertEqual(try events("set-dob-preview").map(\.outcome), ["ok"])
    }

    func testThePreviewIsRefusedAsSavingWouldBe() throws {
        _ = try put("a")
        XCTAssertThrowsError(try f.vault.lifecycle.previewDateOfBirth(child: "C1", dob: "2012-01-01", school: "S1", by: .integration(staff))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.lifecycle.previewDateOfBirth(child: "C1", dob: "2012-01-01", school: "S1", by: .integration(dpo)), "a DPO does not set dates of birth") {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.lifecycle.previewDateOfBirth(child: "C1", dob: "2012-01-01", school: "S2", by: .integration(dsl)))
        XCTAssertThrowsError(try f.vault.lifecycle.previewDateOfBirth(child: "C1", dob: "2030-01-01", school: "S1", by: .integration(dsl))) {
            guard case VaultError.invalidArgument = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.lifecycle.previewDateOfBirth(child: "C1", dob: "2012-01-01", by: .integration(dsl)), "a person names the school") {
            guard case VaultError.invalidArgument = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try events("set-dob-preview").count, 0)
    }

    // MARK: oversight

    func testCountsOfOneToFourAreNeverGivenAndFiveOrMoreAndZeroAre() throws {
        for i in 0..<3 { _ = try put("s1 \(i)", child: "C\(i)") }
        for i in 0..<7 { _ = try put("s2 \(i)", school: "S2", child: "D\(i)") }
        let report = try f.vault.oversight.counts(by: .integration(dpo))
        XCTAssertEqual(report.from, "2025-02")
        XCTAssertEqual(report.to, "2026-01")
        XCTAssertEqual(report.schools.map(\.school), ["S1", "S2"], "a DPO compares their schools")
        let s1 = try XCTUnwrap(report.schools[0].months.last), s2 = try XCTUnwrap(report.schools[1].months.last)
        XCTAssertEqual(s1.month, "2026-01")
        XCTAssertEqual(s1.added["disclosure"], .fewerThanFive)
        XCTAssertEqual(s2.added["disclosure"], .exact(7))
        XCTAssertEqual(s1.added["minutes"], .exact(0))
        XCTAssertEqual(report.schools[0].months.count, 12)
        XCTAssertEqual(report.schools[0].months.first?.added["disclosure"], .exact(0))
        for n in 1...4 { XCTAssertEqual(OversightCount(n), .fewerThanFive) }
        XCTAssertEqual(OversightCount(0), .exact(0))
        XCTAssertEqual(OversightCount(5), .exact(5))
    }

    func testCountsFollowDownloadsHoldsShredsAndReviews() throws {
        let records = try (0..<6).map { try put("r\($0)", child: "C\($0)") }
        for r in records { _ = try f.get(r.id, by: .integration(dsl)) }
        let hold = try f.vault.lifecycle.placeHold(school: "S1", scope: .record, target: records[0].id, reason: "police investigation", by: .integration(dsl))
        _ = try f.vault.lifecycle.requestHoldRelease(id: hold.id, reason: "closed", by: .integration(dsl))
        _ = try f.vault.lifecycle.approveHoldRelease(id: hold.id, by: .integration(dpo))
        let request = try f.vault.lifecycle.requestShred(school: "S1", records: records.suffix(5).map(\.id), reason: "reviewed", by: .integration(dpo))
        _ = try f.vault.lifecycle.approveShred(id: request.id, by: .integration(dsl))
        // 25th birthday 2026-01-10: due this month, and already past.
        _ = try f.vault.lifecycle.setDateOfBirth(child: "C0", dob: "2001-01-10", school: "S1", by: .integration(dsl))
        let month = try XCTUnwrap(try f.vault.oversight.counts(school: "S1", by: .integration(deputy)).schools.first?.months.last)
        XCTAssertEqual(month.downloads, .exact(6))
        XCTAssertEqual(month.holdsPlaced, .fewerThanFive)
        XCTAssertEqual(month.holdsReleased, .fewerThanFive)
        XCTAssertEqual(month.recordsShredded, .exact(5))
        XCTAssertEqual(month.added["disclosure"], .exact(6), "shredded records were still added")
        XCTAssertEqual(month.reviewsDue, .fewerThanFive)
        XCTAssertEqual(month.reviewsOverdue, .fewerThanFive)
        XCTAssertEqual(month.previews, .exact(0))
        XCTAssertEqual(month.bundlesReleased, .exact(0))
    }

    func testOversightIsForSafeguardingRolesInTheirOwnSchoolsAndEveryViewIsAudited() throws {
        _ = try put("a")
        XCTAssertThrowsError(try f.vault.oversight.counts(by: .integration(staff))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.oversight.counts(school: "S2", by: .integration(dsl))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.oversight.counts(from: "2026-02", to: "2026-01", by: .integration(dsl))) {
            guard case VaultError.invalidArgument = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.oversight.counts(from: "2020-01", to: "2026-01", by: .integration(dsl)), "at most 36 months")
        XCTAssertThrowsError(try f.vault.oversight.counts(from: "2026-1", by: .integration(dsl)))
        let report = try f.vault.oversight.counts(from: "2025-11", to: "2026-01", by: .integration(dsl))
        XCTAssertEqual(report.schools.map(\.school), ["S1"])
        XCTAssertEqual(report.schools[0].months.map(\.month), ["2025-11", "2025-12", "2026-01"])
        XCTAssertEqual(try events("oversight-view").map(\.outcome), ["denied", "denied", "ok"])
        XCTAssertEqual(try events("oversight-view").last?.child, nil)
    }
}
