import Foundation
import TestSupport
import XCTest

/// `strongroom bundle`: drafted and approved by two people in their own names, exported to a
/// file that stock age opens.
final class BundleCLITests: XCTestCase {
    func testTwoPeopleDraftApproveAndExportABundleThatAgeOpens() throws {
        let dir = temporaryFolder("bundle-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cli = CLI(store: dir + "/store")
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        func addUser(_ name: String, _ role: String) throws -> String {
            let r = try cli.run(["user", "add", name, "--api-token", "--role", role, "--school", "S1"])
            XCTAssertEqual(r.status, 0, r.stderr)
            return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let jo = try addUser("jo", "dsl"), dee = try addUser("dee", "deputy"), pat = try addUser("pat", "dpo")
        let agency = try StockAge.keygen(in: dir, name: "agency")
        XCTAssertEqual(try cli.run(["recipient", "add", "CSC", "--school", "S1", "--age-recipient", agency.recipient]).status, 0)
        let note = dir + "/note.txt"
        try Data("Written down on the day: D. Smith shouted at him.\n".utf8).write(to: URL(fileURLWithPath: note))
        let put = try cli.run(["put", note, "--school", "S1", "--child", "C1", "--concern", "K1", "--kind", "disclosure", "--json"])
        let record = try XCTUnwrap((put.json as? [String: Any])?["id"] as? String)
        let items = dir + "/items.json"
        try Data(#"[{"record":"\#(record)","mode":"redacted","terms":["D. Smith"]}]"#.utf8).write(to: URL(fileURLWithPath: items))

        let create = ["bundle", "create", "--school", "S1", "--recipient", "CSC", "--reason", "Referral", "--items", items]
        XCTAssertEqual(try cli.run(create, env: ["STRONGROOM_TOKEN": pat]).status, 77, "a DPO may not share")
        XCTAssertEqual(try cli.run(create).status, 78, "no token, no bundle")
        let created = try cli.run(create, env: ["STRONGROOM_TOKEN": jo])
        XCTAssertEqual(created.status, 0, created.stderr)
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        XCTAssertEqual(try cli.run(["bundle", "export", id, "-o", dir + "/early.age"], env: ["STRONGROOM_TOKEN": dee]).status, 65, "a draft has no file")
        XCTAssertEqual(try cli.run(["bundle", "approve", id], env: ["STRONGROOM_TOKEN": jo]).status, 77, "not by its creator")
        let approved = try cli.run(["bundle", "approve", id, "--json", "--max-downloads", "1"], env: ["STRONGROOM_TOKEN": dee])
        XCTAssertEqual(approved.status, 0, approved.stderr)
        XCTAssertTrue(((approved.json as? [String: Any])?["downloadUrl"] as? String)?.hasPrefix("/v1/shared/") == true)

        let file = dir + "/bundle.age"
        let exported = try cli.run(["bundle", "export", id, "-o", file], env: ["STRONGROOM_TOKEN": jo])
        XCTAssertEqual(exported.status, 0, exported.stderr)
        let opened = try StockAge.decrypt(file: file, identity: agency.file)
        XCTAssertEqual(opened.status, 0, opened.stderr)
        try opened.stdout.write(to: URL(fileURLWithPath: dir + "/b.zip"))
        XCTAssertEqual(try unzipWithPython(dir + "/b.zip", into: dir + "/b").status, 0)
        let folder = dir + "/b/bundle-\(id.prefix(8))/items"
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
        XCTAssertEqual(try String(contentsOfFile: folder + "/" + names[0], encoding: .utf8), "Written down on the day: [REDACTED] shouted at him.\n")

        let list = try cli.run(["bundle", "list", "--school", "S1", "--json"], env: ["STRONGROOM_TOKEN": jo])
        XCTAssertTrue(((list.json as? [[String: Any]])?.first?["approvedBy"] as? String ?? "").hasPrefix("user:dee#"), list.stdout)
        XCTAssertEqual(try cli.run(["bundle", "revoke", id], env: ["STRONGROOM_TOKEN": dee]).status, 0)
        XCTAssertEqual(try cli.run(["bundle", "export", id, "-o", dir + "/late.age"], env: ["STRONGROOM_TOKEN": jo]).status, 65, "revoked")
    }
}
