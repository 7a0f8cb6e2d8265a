import Foundation
import Storage
@testable import StrongroomServer
import XCTest
@testable import Vault

/// The console's retention desk and oversight pages as a browser gets them: only the roles and
/// schools they are for, held records offered for no shred, requests shown to the person they
/// wait for, certificates checked by the server, and counts that never show a small number.
final class RetentionPagesTests: XCTestCase {
    var fixture: SignInFixture!
    var server: ServerFixture { fixture.server }
    var vault: Vault { fixture.vault }

    override func setUp() async throws { fixture = try await SignInFixture() }
    override func tearDown() async throws { try await fixture?.stop() }

    func session(_ name: String, _ role: Role, schools: [String] = ["S1"]) async throws -> BrowserSession {
        try await fixture.signedIn(try await fixture.enrol(name, role, schools: schools))
    }

    func page(_ path: String, _ session: BrowserSession) async throws -> HTTPReply {
        try await server.request("GET", path, headers: session.cookie)
    }

    @discardableResult
    func put(_ text: String, child: String = "C1", school: String = "S1") throws -> EvidenceRecord {
        let upload = try vault.records.beginPut(PutRequest(school: school, child: child, concern: "K1", kind: "disclosure",
                                                           filename: "note.txt", declaredType: "text/plain"), by: .operator("test"))
        try Array("Note of a disclosure: \(text).\n".utf8).withUnsafeBytes { try upload.write($0) }
        return try upload.finish()
    }

    func caller(_ session: BrowserSession) throws -> Caller {
        try XCTUnwrap(try vault.users.resolveSession(token: session.token))
    }

    func testEachPageIsForItsRolesAndSignedOutPeopleSignInFirst() async throws {
        let jo = try await session("jo", .dsl), pat = try await session("pat", .dpo), sam = try await session("sam", .staff)
        let paths = ["/retention", "/retention/requests", "/retention/certificates", "/retention/holds", "/oversight"]
        for path in paths {
            let dsl = try await page(path, jo), dpo = try await page(path, pat), staff = try await page(path, sam)
            XCTAssertEqual(dsl.status, 200, "\(path): \(dsl.text.prefix(300))")
            XCTAssertEqual(dpo.status, 200, path)
            XCTAssertEqual(staff.status, 403, path)
            XCTAssertTrue(staff.text.contains("You cannot see this page"), path)
            let signedOut = try await server.request("GET", path)
            XCTAssertEqual(signedOut.status, 303, path)
            XCTAssertTrue(signedOut.headers["location"]?.hasPrefix("/sign-in?next=") ?? false, path)
        }
        let dob = try await page("/children/C1/date-of-birth?school=S1", jo)
        XCTAssertEqual(dob.status, 200)
        let dobByDPO = try await page("/children/C1/date-of-birth?school=S1", pat)
        XCTAssertEqual(dobByDPO.status, 403, "a DPO does not record dates of birth")
        let dobOtherSchool = try await page("/children/C1/date-of-birth?school=S2", jo)
        XCTAssertEqual(dobOtherSchool.status, 404)
        let otherSchool = try await page("/retention?school=S2", jo)
        XCTAssertEqual(otherSchool.status, 400, "another school is not offered")
    }

    func testDueRecordsShowTheChildsNameAsTextAndAHeldRecordHasNoCheckbox() async throws {
        let free = try put("free", child: "C1")
        let held = try put("held", child: "C2")
        try vault.records.setChildLabel(child: "C1", school: "S1", label: "<b>Amelia</b>", by: .operator("test"))
        let jo = try await session("jo", .dsl)
        _ = try vault.lifecycle.placeHold(school: "S1", scope: .child, target: "C2", reason: "police investigation", by: try caller(jo))
        let reply = try await page("/retention?school=S1&asOf=2060-01-01", jo)
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertTrue(reply.text.contains("&lt;b&gt;Amelia&lt;/b&gt; (C1)"))
        XCTAssertFalse(reply.text.contains("<b>Amelia"))
        XCTAssertTrue(reply.text.contains("value=\"\(free.id)\""), "a free record can be selected")
        XCTAssertFalse(reply.text.contains("value=\"\(held.id)\""), "a held record cannot")
        XCTAssertTrue(reply.text.contains("On legal hold"))
        XCTAssertTrue(reply.text.contains("/children/C1/date-of-birth?school=S1"), "a DSL can set the date of birth")
        let none = try await page("/retention?school=S1&asOf=2030-01-01", jo)
        XCTAssertTrue(none.text.contains("No records are due for review by then."))
        let bad = try await page("/retention?school=S1&asOf=2030-02-30", jo)
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue(bad.text.contains("Enter a real date"))
    }

    func testARequestIsShownToThePersonItWaitsForAndTheRequesterCanWithdraw() async throws {
        let record = try put("old")
        let jo = try await session("jo", .dsl), pat = try await session("pat", .dpo), dee = try await session("dee", .deputy)
        let request = try vault.lifecycle.requestShred(school: "S1", records: [record.id], reason: "retention over", by: try caller(pat))
        let forJo = try await page("/retention/requests", jo)
        XCTAssertTrue(forJo.text.contains("id=\"waiting\""), "waiting for the DSL")
        XCTAssertTrue(forJo.text.contains("/retention/requests/\(request.id)"))
        let forPat = try await page("/retention/requests", pat)
        XCTAssertTrue(forPat.text.contains("No shred requests are waiting for you."))
        XCTAssertTrue(forPat.text.contains("data-request=\"\(request.id)\">Withdraw"), "the requester can withdraw")
        let check = try await page("/retention/requests/\(request.id)", dee)
        XCTAssertTrue(check.text.contains("id=\"approve\""), "a deputy can approve")
        XCTAssertTrue(check.text.contains("retention over"))
        let own = try await page("/retention/requests/\(request.id)", pat)
        XCTAssertFalse(own.text.contains("id=\"approve\""), "the requester cannot approve")
        XCTAssertTrue(own.text.contains("id=\"withdraw\""))
        _ = try vault.lifecycle.placeHold(school: "S1", scope: .record, target: record.id, reason: "police", by: try caller(dee))
        let held = try await page("/retention/requests/\(request.id)", jo)
        XCTAssertFalse(held.text.contains("id=\"approve\""), "no approval while a record is held")
        XCTAssertTrue(held.text.contains("id=\"held-warning\""))
        let missing = try await page("/retention/requests/shred-0000000000000000", jo)
        XCTAssertEqual(missing.status, 404)
    }

    func testACertificateIsShownValidAndATamperedOneNotValid() async throws {
        let record = try put("old")
        let jo = try await session("jo", .dsl), pat = try await session("pat", .dpo)
        let request = try vault.lifecycle.requestShred(school: "S1", records: [record.id], reason: "retention over", by: try caller(pat))
        _ = try vault.lifecycle.approveShred(id: request.id, by: try caller(jo))
        let list = try await page("/retention/certificates", pat)
        XCTAssertTrue(list.text.contains("/retention/certificates/\(request.id)"))
        let shown = try await page("/retention/certificates/\(request.id)", pat)
        XCTAssertEqual(shown.status, 200)
        XCTAssertTrue(shown.text.contains("id=\"signature-valid\""))
        XCTAssertFalse(shown.text.contains("NOT valid"))
        XCTAssertTrue(shown.text.contains(record.id))
        XCTAssertTrue(shown.text.contains("href=\"/v1/shred-requests/\(request.id)/certificate\" download=\"certificate-\(request.id).json\""))
        let file = try await page("/v1/shred-requests/\(request.id)/certificate", pat)
        XCTAssertEqual(file.status, 200)
        let bytes = Array(file.body)
        XCTAssertNoThrow(try CertificateOfDestruction.verify(bytes, publicKey: vault.publicKey), "the download verifies as it is")

        var tampered = String(decoding: bytes, as: UTF8.self)
        tampered = tampered.replacingOccurrences(of: "retention over", with: "retention done")
        let check = CertificateCheck(Array(tampered.utf8), publicKey: vault.publicKey)
        XCTAssertFalse(check.valid)
        XCTAssertEqual(check.certificate?.reason, "retention done", "its fields are still shown")
        let principal = try XCTUnwrap(try caller(pat).principal)
        let html = try ConsolePages().html("certificate", CertificatePage(principal, id: request.id, check: check))
        XCTAssertTrue(html.contains("Signature NOT valid"))
        XCTAssertFalse(html.contains("id=\"signature-valid\""))
        let missing = try await page("/retention/certificates/shred-0000000000000000", pat)
        XCTAssertEqual(missing.status, 404)
    }

    func testOversightShowsFewerThanFiveAndSchoolsSideBySide() async throws {
        for i in 0..<3 { try put("s1 \(i)", child: "C\(i)") }
        for i in 0..<7 { try put("s2 \(i)", child: "D\(i)", school: "S2") }
        let pia = try await session("pia", .dpo, schools: ["S1", "S2"])
        let reply = try await page("/oversight", pia)
        XCTAssertEqual(reply.status, 200)
        XCTAssertTrue(reply.text.contains("id=\"compare\""), "a DPO of two schools compares them")
        let compare = try XCTUnwrap(reply.text.range(of: "id=\"compare\"").map { String(reply.text[$0.upperBound...].prefix(3000)) })
        XCTAssertTrue(compare.contains("<th scope=\"row\">Disclosure added</th><td class=\"table__cell\" data-label=\"S1\">fewer than 5</td><td class=\"table__cell\" data-label=\"S2\">7</td>"), compare)
        for id in ["C0", "C1", "C2", "D0"] { XCTAssertFalse(reply.text.contains(id), "names no child: \(id)") }
        let jo = try await session("jo", .dsl)
        let one = try await page("/oversight", jo)
        XCTAssertFalse(one.text.contains("id=\"compare\""), "one school: nothing to compare")
        let other = try await page("/oversight?school=S2", jo)
        XCTAssertEqual(other.status, 403)
        let bad = try await page("/oversight?from=2026-13", jo)
        XCTAssertEqual(bad.status, 400)
    }
}
