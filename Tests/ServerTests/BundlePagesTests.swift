import Foundation
import Storage
@testable import StrongroomServer
import XCTest
@testable import Vault

/// The console's bundle pages as a browser gets them: only for those who share, only their
/// school's bundles, no one asked to approve their own draft, and reasons shown as text.
final class BundlePagesTests: XCTestCase {
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

    func caller(_ session: BrowserSession) throws -> Caller {
        try XCTUnwrap(try vault.users.resolveSession(token: session.token))
    }

    func testOnlyThoseWhoShareSeeTheBundlePagesAndOnlyForTheirSchool() async throws {
        let dsl = try await session("jo", .dsl), deputy = try await session("dee", .deputy)
        let staff = try await session("sam", .staff), dpo = try await session("pat", .dpo), admin = try await session("ada", .admin)
        let other = try await session("kim", .dsl, schools: ["S2"])
        let upload = try vault.records.beginPut(PutRequest(school: "S1", child: "C1", concern: "K1", kind: "disclosure",
                                                           filename: "note.txt", declaredType: "text/plain"), by: .operator("test"))
        try Array("A note.\n".utf8).withUnsafeBytes { try upload.write($0) }
        let note = try upload.finish()
        _ = try vault.bundles.addRecipient(.init(school: "S1", name: "Police <b>CID</b>", ageRecipient: nil, passphrase: true), by: .operator("test"))
        let draft = try vault.bundles.createBundle(.init(school: "S1", recipient: "Police <b>CID</b>", reason: "<script>x</script> meeting",
                                                         items: [.init(record: note.id, mode: .asIs)]), by: try caller(dsl))

        for path in ["/bundles", "/bundles/queue", "/bundles/\(draft.id)", "/bundles/new?school=S1&child=C1"] {
            for (who, session, status) in [("dsl", dsl, 200), ("deputy", deputy, 200), ("staff", staff, 403), ("dpo", dpo, 403), ("admin", admin, 403)] {
                let reply = try await page(path, session)
                XCTAssertEqual(reply.status, status, "\(who) \(path)")
            }
        }
        let notTheirs = try await page("/bundles/\(draft.id)", other)
        XCTAssertEqual(notTheirs.status, 404)
        let otherSchool = try await page("/bundles?school=S1", other)
        XCTAssertEqual(otherSchool.status, 404)

        let queue = try await page("/bundles/queue", deputy)
        XCTAssertTrue(queue.text.contains("/bundles/\(draft.id)"), "the deputy's queue holds the draft")
        XCTAssertTrue(queue.text.contains("&lt;script&gt;x&lt;/script&gt; meeting"), "a reason is text")
        XCTAssertFalse(queue.text.contains("<script>x"))
        let own = try await page("/bundles/queue", dsl)
        XCTAssertFalse(own.text.contains("/bundles/\(draft.id)"), "no one is asked to approve their own draft")
        let mine = try await page("/bundles/\(draft.id)", dsl)
        XCTAssertFalse(mine.text.contains("id=\"approve-form\""))
        let theirs = try await page("/bundles/\(draft.id)", deputy)
        XCTAssertTrue(theirs.text.contains("id=\"approve-form\""))
        XCTAssertTrue(theirs.text.contains("Police &lt;b&gt;CID&lt;/b&gt;"))
        let builder = try await page("/bundles/new?school=S1&child=C1", dsl)
        XCTAssertTrue(builder.text.contains("data-record=\"\(note.id)\""))
        XCTAssertTrue(builder.text.contains("value=\"Police &lt;b&gt;CID&lt;/b&gt;\""))
    }
}
