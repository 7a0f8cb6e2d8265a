import Foundation
import GRDB
import KeyManagement
@testable import Storage
import TestSupport
import XCTest
@testable import Vault

/// Who a user is: an account with its own id, never a name. A revoked name added again is a new
/// person (a stolen token replaced, a leaver's name given to a newcomer) and inherits nothing.
final class UserAccountTests: XCTestCase {
    var f: VaultFixture!

    override func setUpWithError() throws { f = try VaultFixture() }

    func signIn(_ name: String, _ role: Role, schools: [String] = ["S1"]) throws -> Principal {
        let issued = try f.vault.users.addIntegration(name: name, role: role, schools: schools, by: .operator("test"))
        return try XCTUnwrap(try f.vault.users.authenticate(token: issued.token))
    }

    func upload(_ text: String, by principal: Principal, child: String = "C1") throws -> EvidenceRecord {
        let session = try f.vault.records.beginPut(
            PutRequest(school: "S1", child: child, concern: "K1", kind: "disclosure", filename: "note.txt"), by: .integration(principal))
        try Array("A note of what the child said, written down by staff: \(text).\n".utf8).withUnsafeBytes { try session.write($0) }
        return try session.finish()
    }

    func testANameAddedAgainSeesNoneOfTheOldAccountsUploads() throws {
        let oldAlice = try signIn("alice", .staff)
        let old = try upload("first", by: oldAlice)
        XCTAssertEqual(try f.vault.records.show(id: old.id, by: .integration(oldAlice)).id, old.id, "her own upload")
        XCTAssertEqual(try f.vault.records.chronology(child: "C1", school: "S1", limit: 100, offset: 0, by: .integration(oldAlice)).map(\.id), [old.id])
        try f.vault.users.revoke(name: "alice", by: .operator("test"))

        let newAlice = try signIn("alice", .staff)
        XCTAssertNotEqual(newAlice.actor, oldAlice.actor, "the audit log tells the two accounts apart")
        XCTAssertEqual(try f.vault.records.chronology(child: "C1", school: "S1", limit: 100, offset: 0, by: .integration(newAlice)), [])
        XCTAssertThrowsError(try f.vault.records.show(id: old.id, by: .integration(newAlice))) {
            XCTAssertEqual($0 as? VaultError, .notFound(old.id))
        }
        let denial = try XCTUnwrap(try f.events.last { $0.action == "show" })
        XCTAssertEqual(denial.outcome, "denied")
        XCTAssertEqual(denial.actor.description, newAlice.actor.description)
        // Her own uploads she does see.
        let new = try upload("second", by: newAlice)
        XCTAssertEqual(try f.vault.records.chronology(child: "C1", school: "S1", limit: 100, offset: 0, by: .integration(newAlice)).map(\.id), [new.id])
        XCTAssertEqual(try f.vault.records.show(id: new.id, by: .integration(newAlice)).id, new.id)
    }

    // MARK: a store from before account ids

    struct OldStore {
        var tokens: [String: String] = [:]
        var signatures: [String: Data] = [:]
    }

    /// Replaces the fixture's database with one at the schema before account ids (up to
    /// migration v7), holding users signed the old way and records and a request made by name.
    func makeStoreFromBeforeAccountIDs() throws -> OldStore {
        let vaultID = f.vault.vaultID
        let signer = try f.vault.keyStore!.auditSigner()
        f.vault.close()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: f.layout.metadata + suffix) }
        let queue = try DatabaseQueue(path: f.layout.metadata)
        try SQLiteCatalog.migrator.migrate(queue, upTo: "v7-void-shred-requests")
        var old = OldStore()
        try queue.write { db in
            try db.execute(sql: "INSERT INTO vault (key, value) VALUES ('vault_id', ?), ('format_version', '1')", arguments: [vaultID])
            try db.execute(sql: "INSERT INTO audit_head (id, tree_size, last_hash, frontier) VALUES (1, 0, ?, ?)",
                           arguments: [Data(AuditEvent.genesisHash(vaultID: vaultID)), Data(TreeFrontier().serialized)])
            // alice and dpo1 active since t=1000; bob revoked; carol's row was never signed by the vault.
            for (name, role, revoked, forged) in [("alice", "staff", false, false), ("bob", "staff", true, false),
                                                  ("carol", "staff", false, true), ("dpo1", "dpo", false, false)] {
                let token = Vault.tokenPrefix + Hex.encode(randomPublicBytes(32))
                var user = UserAccount(id: "", name: name, role: role, schools: ["S1"], tokenHash: Vault.tokenHash(token),
                                       createdAtMillis: 1000, createdBy: "cli:op", revokedAtMillis: revoked ? 5000 : nil, signatureFormat: 1)
                user.signature = forged ? Data(repeating: 7, count: 64) : Data(try signer.sign(user.legacySignedMessage(vaultID: vaultID)))
                try db.execute(sql: """
                    INSERT INTO users (name, role, schools, token_hash, created_at_ms, created_by, revoked_at_ms, signature)
                    VALUES (?, ?, 'S1', ?, 1000, 'cli:op', ?, ?)
                    """, arguments: [name, role, user.tokenHash, user.revokedAtMillis, user.signature])
                old.tokens[name] = token
                old.signatures[name] = user.signature
            }
            // r0 was uploaded by an earlier account named alice (before this one was added).
            for (id, by, at) in [("r1", "user:alice", 2000), ("r0", "user:alice", 500), ("rb", "user:bob", 2000), ("rc", "cli:op", 2000)] {
                try db.execute(sql: """
                    INSERT INTO records (id, school, child, concern, kind, filename, sniffed_type, size, sha256, ciphertext_blake2b,
                        ciphertext_size, created_at_ms, created_by, kek_id, wrapped_dek, format_version, review_on)
                    VALUES (?, 'S1', 'C1', 'K1', 'disclosure', 'note.txt', 'text/plain', 1, '', '', 1, ?, ?, 'kek-0', x'00', 1, '2051-01-01')
                    """, arguments: [Self.recordID(id), at, by])
            }
            try db.execute(sql: """
                INSERT INTO shred_requests (id, school, records, reason, requested_by, requested_role, requested_at_ms, state)
                VALUES ('shred-00000000000000aa', 'S1', ?, 'erasure', 'user:dpo1', 'dpo', 3000, 'pending')
                """, arguments: [Self.recordID("rc")])
        }
        // Its log begins, as every vault's does, with the init event under a signed checkpoint.
        try AuditLogRewriter.rewrite(database: f.layout.metadata, vaultID: vaultID) { $0 = [AuditLogRewriter.event(actor: "cli:op", action: "init")] }
        try queue.write { db in
            let hash = try Data.fetchOne(db, sql: "SELECT hash FROM audit_events WHERE seq = 1")!
            let checkpoint = try Checkpoint.sign(vaultID: vaultID, treeSize: 1, root: [UInt8](hash), timeMillis: 1, signer: signer)
            try db.execute(sql: "INSERT INTO audit_checkpoints (tree_size, root, time_ms, key_id, signature) VALUES (1, ?, 1, ?, ?)",
                           arguments: [hash, checkpoint.keyID, Data(base64Encoded: checkpoint.signature)!])
        }
        return old
    }

    /// A record id for a two-letter name (ids are 32 hex digits).
    static func recordID(_ name: String) -> String { String(repeating: "0", count: 28) + Hex.encode(Array(name.utf8)) }

    func testExistingUsersGetIdsAndOnlyUploadsTheirAccountCanHaveMade() throws {
        let old = try makeStoreFromBeforeAccountIDs()
        f.vault = try f.reopen()
        let users = Dictionary(try f.vault.users.list(by: .operator("test")).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in ["alice", "bob", "carol", "dpo1"] {
            XCTAssertEqual(users[name]?.id, UserAccount.migratedID(signature: old.signatures[name]!), name)
        }
        XCTAssertEqual(users.filter { $0.value.signatureFormat == 2 }.keys.sorted(), ["alice", "bob", "dpo1"], "re-signed with their ids")
        XCTAssertEqual(users["carol"]?.signatureFormat, 0, "a row the vault never signed is not blessed by the upgrade")
        XCTAssertNil(try f.vault.users.authenticate(token: old.tokens["carol"]!))
        XCTAssertNil(try f.vault.users.authenticate(token: old.tokens["bob"]!))

        let alice = try XCTUnwrap(try f.vault.users.authenticate(token: old.tokens["alice"]!))
        XCTAssertEqual(alice.account, users["alice"]?.id)
        XCTAssertEqual(try f.vault.catalog.record(id: Self.recordID("r1"))?.createdByAccount, alice.account)
        for id in ["r0", "rb", "rc"] { XCTAssertNil(try f.vault.catalog.record(id: Self.recordID(id))?.createdByAccount, id) }
        XCTAssertEqual(try f.vault.records.chronology(child: "C1", school: "S1", limit: 10, offset: 0, by: .integration(alice)).map(\.id), [Self.recordID("r1")])
        XCTAssertThrowsError(try f.vault.records.show(id: Self.recordID("r0"), by: .integration(alice)), "an earlier alice's upload")
        XCTAssertEqual(try f.vault.lifecycle.shredRequest(id: "shred-00000000000000aa")?.requestedAccount, users["dpo1"]?.id)

        let migrate = try XCTUnwrap(try f.events.first { $0.action == "user-migrate" })
        XCTAssertTrue((migrate.reason ?? "").hasPrefix("3 user rows re-signed"), migrate.reason ?? "")
        XCTAssertTrue((migrate.reason ?? "").contains("1 left unsigned"), migrate.reason ?? "")
        f.vault.close()
        f.vault = try f.reopen()
        XCTAssertEqual(try f.events.filter { $0.action == "user-migrate" }.count, 1, "once")
        XCTAssertEqual(try f.vault.users.list(by: .operator("test")).first { $0.name == "carol" }?.signatureFormat, 0, "refused for good")
    }

    /// The migration can run in a process without the master key (a backup operator's verify),
    /// and the re-signing only later: an id changed in between is not signed over.
    func testAnIdChangedBeforeTheRowsAreReSignedIsNotBlessed() throws {
        let old = try makeStoreFromBeforeAccountIDs()
        let keyless = try f.openKeyless()
        let bobID = try XCTUnwrap(try keyless.users.list(by: .operator("test")).first { $0.name == "bob" }?.id)
        keyless.close()
        // Give alice the (revoked) bob's id.
        let db = try DatabaseQueue(path: f.layout.metadata)
        try db.write { db in
            try db.execute(sql: "UPDATE users SET id = 'ffffffffffffffff' WHERE name = 'bob'")
            try db.execute(sql: "UPDATE users SET id = ? WHERE name = 'alice'", arguments: [bobID])
        }
        f.vault = try f.reopen()
        XCTAssertNil(try f.vault.users.authenticate(token: old.tokens["alice"]!))
        XCTAssertEqual(try f.vault.users.list(by: .operator("test")).filter { $0.signatureFormat == 2 }.map(\.name), ["dpo1"])
        XCTAssertNotNil(try f.vault.users.authenticate(token: old.tokens["dpo1"]!))
    }
}
