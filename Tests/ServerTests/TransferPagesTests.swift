import Foundation
import Storage
@testable import StrongroomServer
import XCTest
@testable import Vault

/// The console's transfer pages as a browser gets them: only for DSLs and deputies of the
/// school, the fingerprint never filled in for the person, the download link never on a page,
/// no one asked to approve their own draft, and the chronology saying where a file went and
/// where received records came from. Two schools of one vault send to each other.
final class TransferPagesTests: XCTestCase {
    var fixture: SignInFixture!
    var server: ServerFixture { fixture.server }
    var vault: Vault { fixture.vault }
    var sendingCard: SchoolCard!, receivingCard: SchoolCard!

    override func setUp() async throws {
        fixture = try await SignInFixture()
        sendingCard = try vault.transfers.nameSchool("S1", name: "Oakfield Primary School", by: .operator("test"))
        receivingCard = try vault.transfers.nameSchool("S2", name: "Riverside <b>Academy</b>", by: .operator("test"))
        // Each school's DSL heard the other's fingerprint by telephone.
        _ = try vault.transfers.trust(owner: "S1", card: receivingCard, fingerprint: receivingCard.fingerprint, by: .operator("test"))
        _ = try vault.transfers.trust(owner: "S2", card: sendingCard, fingerprint: sendingCard.fingerprint, by: .operator("test"))
    }

    override func tearDown() async throws { try await fixture?.stop() }

    func session(_ name: String, _ role: Role, schools: [String] = ["S1"]) async throws -> BrowserSession {
        try await fixture.signedIn(try await fixture.enrol(name, role, schools: schools))
    }

    func page(_ path: String, _ session: BrowserSession) async throws -> HTTPReply {
        try await server.request("GET", path, headers: session.cookie)
    }

    func caller(_ session: BrowserSession) throws -> Caller {
        try XCTUnwrap(try vault.users.resolveSession(token: session.token))
    }

    @discardableResult
    func note(child: String = "C1", school: String = "S1") throws -> EvidenceRecord {
        let upload = try vault.records.beginPut(PutRequest(school: school, child: child, concern: "K1", kind: "disclosure",
                                                           filename: "note.txt", declaredType: "text/plain"), by: .operator("test"))
        try Array("A note.\n".utf8).withUnsafeBytes { try upload.write($0) }
        return try upload.finish()
    }

    func testOnlyDSLsAndDeputiesOfTheSchoolSeeTheTransferPages() async throws {
        let dsl = try await session("jo", .dsl), deputy = try await session("dee", .deputy)
        let staff = try await session("sam", .staff), dpo = try await session("pat", .dpo), admin = try await session("ada", .admin)
        let other = try await session("kim", .dsl, schools: ["S2"])
        try note()
        let draft = try vault.transfers.create(school: "S1", child: "C1", toSchool: "S2", reason: "moved house", by: try caller(dsl))

        for path in ["/transfers", "/transfers/new?school=S1&child=C1", "/transfers/\(draft.id)", "/transfers/receive", "/schools"] {
            for (who, session, status) in [("dsl", dsl, 200), ("deputy", deputy, 200), ("staff", staff, 403), ("dpo", dpo, 403), ("admin", admin, 403)] {
                let reply = try await page(path, session)
                XCTAssertEqual(reply.status, status, "\(who) \(path)")
            }
        }
        let notTheirs = try await page("/transfers/\(draft.id)", other)
        XCTAssertEqual(notTheirs.status, 404)
        for path in ["/transfers?school=S1", "/schools?school=S1", "/transfers/receive?school=S1", "/transfers/new?school=S1&child=C1"] {
            let reply = try await page(path, other)
            XCTAssertEqual(reply.status, 404, path)
        }

        let header = try await page("/account", dsl)
        XCTAssertTrue(header.text.contains("href=\"/transfers\""), "the header links to Transfers for a DSL")
        let staffHeader = try await page("/account", staff)
        XCTAssertFalse(staffHeader.text.contains("href=\"/transfers\""), "and not for staff")
    }

    func testTheFingerprintIsNeverFilledInForThePersonAddingASchool() async throws {
        let dsl = try await session("jo", .dsl)
        let reply = try await page("/schools?school=S1", dsl)
        XCTAssertEqual(reply.status, 200)
        let text = reply.text
        XCTAssertTrue(text.contains(sendingCard.fingerprint), "the school's own fingerprint is shown to be read out")
        XCTAssertTrue(text.contains("Riverside &lt;b&gt;Academy&lt;/b&gt;"), "a school's name is text")
        let input = try XCTUnwrap(text.range(of: "<input class=\"input\" id=\"fingerprint\"[^>]*>", options: .regularExpression))
        XCTAssertFalse(text[input].contains("value"), "the fingerprint field is empty: the person types what they heard")
        XCTAssertTrue(text.contains("id=\"rule-form\""), "a DSL sets the rule for the school's copies")

        let deputy = try await session("dee", .deputy)
        let deputyPage = try await page("/schools?school=S1", deputy)
        XCTAssertFalse(deputyPage.text.contains("id=\"rule-form\""), "a deputy does not set the rule")
        XCTAssertFalse(deputyPage.text.contains("id=\"accept-card\""), "nor accept a changed card")
    }

    func testTheCreatorWaitsAndTheDownloadLinkIsNeverOnAPage() async throws {
        let dsl = try await session("jo", .dsl), deputy = try await session("dee", .deputy)
        try note()
        let draft = try vault.transfers.create(school: "S1", child: "C1", toSchool: "S2", reason: "<script>x</script> moved", by: try caller(dsl))

        let own = try await page("/transfers/\(draft.id)", dsl)
        XCTAssertTrue(own.text.contains("id=\"waiting-notice\""))
        XCTAssertFalse(own.text.contains("id=\"approve-form\""), "no one approves their own transfer")
        let theirs = try await page("/transfers/\(draft.id)", deputy)
        XCTAssertTrue(theirs.text.contains("id=\"approve-form\""))
        XCTAssertTrue(theirs.text.contains(receivingCard.fingerprint), "the approver sees the fingerprint of the school it goes to")
        XCTAssertTrue(theirs.text.contains("when it is approved: 1 now"), "and how many records will travel")
        XCTAssertTrue(theirs.text.contains("&lt;script&gt;x&lt;/script&gt; moved"), "a reason is text")
        XCTAssertFalse(theirs.text.contains("<script>x"))

        let sent = try vault.transfers.approve(id: draft.id, receiptURL: nil, by: try caller(deputy))
        for session in [dsl, deputy] {
            let shown = try await page("/transfers/\(draft.id)", session)
            XCTAssertTrue(shown.text.contains(">Sent</strong>"))
            XCTAssertFalse(shown.text.contains(sent.token), "the link is shown once, by the approval's answer, never by a page")
            XCTAssertFalse(shown.text.contains("id=\"approve-form\""))
            XCTAssertTrue(shown.text.contains("id=\"receipt-form\""), "a receipt given as a file can be added")
        }
        let list = try await page("/transfers?school=S1", dsl)
        XCTAssertFalse(list.text.contains(sent.token))
        XCTAssertTrue(list.text.contains("/transfers/\(draft.id)"))
    }

    func testTheDraftPageListsWhatWillTravelAndOnlySchoolsInTheDirectory() async throws {
        let dsl = try await session("jo", .dsl)
        let records = [try note(), try note()]
        _ = try vault.lifecycle.placeHold(school: "S1", scope: .record, target: records[1].id, reason: "police investigation", by: try caller(dsl))
        let reply = try await page("/transfers/new?school=S1&child=C1", dsl)
        XCTAssertEqual(reply.status, 200)
        XCTAssertTrue(reply.text.contains("2 records"))
        XCTAssertTrue(reply.text.contains("1 record is under a legal hold"))
        XCTAssertTrue(reply.text.contains("value=\"S2\""), "the school in the directory is offered")
        XCTAssertFalse(reply.text.contains("value=\"S1\""), "a school not in the directory is not")
        XCTAssertTrue(reply.text.contains("data-fingerprint=\"\(receivingCard.fingerprint)\""))
        XCTAssertTrue(reply.text.contains("Check your answers"))
    }

    func testAReceivedFileShowsOnBothSchoolsPagesAndTheWaitingPage() async throws {
        let dsl = try await session("jo", .dsl), deputy = try await session("dee", .deputy)
        let receiving = try await session("rae", .dsl, schools: ["S2"])
        let dpo = try await session("pat", .dpo)
        try note()
        let draft = try vault.transfers.create(school: "S1", child: "C1", toSchool: "S2", reason: "moved house", by: try caller(dsl))
        let waiting = try await page("/waiting", deputy)
        XCTAssertTrue(waiting.text.contains("id=\"waiting-transfers\""))
        let dpoWaiting = try await page("/waiting", dpo)
        XCTAssertFalse(dpoWaiting.text.contains("id=\"waiting-transfers\""), "a DPO does not transfer")

        let sent = try vault.transfers.approve(id: draft.id, receiptURL: nil, by: try caller(deputy))
        let package = try kept(sent, in: vault)
        let received = try vault.transfers.receive(package, school: "S2", child: "N7", by: try caller(receiving))
        _ = try vault.transfers.acceptReceipt(received.receipt, by: .operator("test"))

        let newChronology = try await page("/children/N7?school=S2", receiving)
        XCTAssertTrue(newChronology.text.contains("Received from Oakfield Primary School (S1) on "), "a received record says where it came from")
        let oldChronology = try await page("/children/C1?school=S1", dsl)
        XCTAssertTrue(oldChronology.text.contains("/transfers/new?school=S1&amp;child=C1"))
        XCTAssertTrue(oldChronology.text.contains("/transfers/\(draft.id)"), "the chronology lists where the file went")
        XCTAssertTrue(oldChronology.text.contains(">Received</strong>"))

        let sentList = try await page("/transfers?school=S1", dsl)
        XCTAssertTrue(sentList.text.contains(">Received</strong>"))
        let receivedList = try await page("/transfers?school=S2", receiving)
        XCTAssertTrue(receivedList.text.contains("/children/N7?school=S2"))
        let shown = try await page("/transfers/\(draft.id)", dsl)
        XCTAssertTrue(shown.text.contains("id=\"after-receipt\""), "what happened to the school's copies")
        XCTAssertTrue(shown.text.contains("href=\"/retention/requests/shred-"), "the default rule drafts a shred request, linked for the DPO")
    }

    func testOversightCountsFilesSentAndReceivedWithSmallNumbersWithheld() async throws {
        let dsl = try await session("jo", .dsl), deputy = try await session("dee", .deputy)
        let receiving = try await session("rae", .dsl, schools: ["S2"])
        try note()
        let draft = try vault.transfers.create(school: "S1", child: "C1", toSchool: "S2", reason: "moved house", by: try caller(dsl))
        let sent = try vault.transfers.approve(id: draft.id, receiptURL: nil, by: try caller(deputy))
        _ = try vault.transfers.receive(try kept(sent, in: vault), school: "S2", by: try caller(receiving))

        let sender = try XCTUnwrap(try vault.oversight.counts(school: "S1", by: try caller(dsl)).schools.first?.months.last)
        XCTAssertEqual(sender.transfersSent, .fewerThanFive, "one file sent: counted, and withheld as a small number")
        XCTAssertEqual(sender.transfersReceived, .exact(0))
        let receiver = try XCTUnwrap(try vault.oversight.counts(school: "S2", by: try caller(receiving)).schools.first?.months.last)
        XCTAssertEqual(receiver.transfersSent, .exact(0))
        XCTAssertEqual(receiver.transfersReceived, .fewerThanFive)
        let page = try await page("/oversight?school=S1", dsl)
        XCTAssertTrue(page.text.contains("Files sent to another school"))
    }

    /// A sent package's bytes, wherever the store keeps it (the folder or the bucket).
    func kept(_ sent: SentTransfer, in vault: Vault) throws -> [UInt8] {
        let name = String(sent.packagePath.split(separator: "/").last ?? "")
        let reader = try XCTUnwrap(try vault.sharedFiles.open(.transfers, name: name))
        defer { reader.close() }
        return Array(try reader.readToEnd() ?? Data())
    }
}
