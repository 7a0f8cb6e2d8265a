import Foundation
import TestSupport
import XCTest
@testable import KeyManagement
@testable import Storage

/// The catalog on PostgreSQL (started by Scripts/test.sh): one audit chain however many nodes
/// append, the embedded catalog's all-or-nothing commits, and clear refusals.
final class PostgresCatalogTests: XCTestCase {
    var database: PostgresTestDatabase!
    var dir: String!
    var keys: KeyStore!
    var signer: AuditSigner!
    var opened: [PostgresCatalog] = []

    override func setUpWithError() throws {
        database = try PostgresTestDatabase()
        dir = NSTemporaryDirectory() + "pg-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        keys = try KeyStore.create(directory: dir, master: try MasterKeyFile.create(at: dir + "/master.key"))
        signer = try keys.auditSigner()
    }

    override func tearDownWithError() throws {
        for catalog in opened { catalog.close() }
        database?.drop()
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// A new vault's catalog, its log begun with the init event as `Vault.create` writes it.
    func created() throws -> PostgresCatalog {
        let catalog = try PostgresCatalog.create(location: database.location, password: database.password, vaultID: keys.vaultID)
        opened.append(catalog)
        try catalog.append([AuditEntry(actor: "cli:op", action: "init", outcome: .ok)], signer: signer)
        return catalog
    }

    /// Another node: the same database, opened by a process of its own.
    func node() throws -> PostgresCatalog {
        let catalog = try PostgresCatalog.open(location: database.location, password: database.password, vaultID: keys.vaultID)
        opened.append(catalog)
        return catalog
    }

    var verifier: AuditVerifier { AuditVerifier(vaultID: keys.vaultID, publicKey: signer.publicKey) }

    func testTheWholeLogIsReadInPagesWithNothingLostOrRepeated() throws {
        let catalog = try created()
        // The init event and these: exactly two full pages, so the last page read is empty.
        let n = 2 * RelationalCatalog.eventPage - 1
        _ = try catalog.append((0..<n).map { AuditEntry(actor: "t", action: "get", outcome: .ok, reason: "\($0)") }, signer: signer)
        let events = try node().events(record: nil)
        XCTAssertEqual(events.map(\.sequence), Array(1...Int64(n + 1)))
        XCTAssertEqual(events.last?.reason, "\(n - 1)")
    }

    func testAppendsFromTwoNodesAtOnceFormOneIntactSignedChain() throws {
        let first = try created(), second = try node(), signer = self.signer!
        let nodes = [first, second]
        let failed = Counter()
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            do {
                try nodes[i % 2].append([AuditEntry(actor: "t\(i)", action: "get", outcome: .ok)], signer: signer)
            } catch {
                failed.add()
            }
        }
        XCTAssertEqual(failed.value, 0)
        let events = try second.events(record: nil)
        XCTAssertEqual(events.count, 1 + 200)
        XCTAssertEqual(Set(events.dropFirst().map(\.actor)).count, 200, "every writer's event is there once")
        XCTAssertEqual(events.map(\.sequence), Array(1...201), "one sequence, no gaps")
        let report = try verifier.verify(first)
        XCTAssertTrue(report.isIntact, "\(report.problems)")
        XCTAssertEqual(report.unsignedTail, 0, "each node's last group signed a checkpoint")
    }

    func testARecordAndItsEventCommitTogetherOrNotAtAll() throws {
        let catalog = try created()
        let id = RecordID.generate()
        try catalog.commitRecord(GroupCommitTests.record(id), event: AuditEntry(actor: "t", action: "put", outcome: .ok, record: id), signer: signer)
        XCTAssertThrowsError(
            try catalog.commitRecord(GroupCommitTests.record(id), event: AuditEntry(actor: "t2", action: "put", outcome: .ok, record: id), signer: signer))
        XCTAssertEqual(try catalog.record(id: id)?.id, id)
        XCTAssertEqual(try catalog.events(record: nil).filter { $0.record == id }.map(\.actor), ["t"], "the refused put left no event")
        XCTAssertTrue(try verifier.verify(catalog).isIntact)
    }

    func testTheDatabaseRefusesToChangeAnAuditEvent() throws {
        _ = try created()
        XCTAssertThrowsError(try database.psql("UPDATE audit_events SET actor = 'someone else' WHERE seq = 1"))
        XCTAssertThrowsError(try database.psql("DELETE FROM audit_events"))
    }

    func testAnEventRewrittenBehindTheTriggersIsNeverSignedOver() throws {
        let catalog = try created()
        // Keyless work appends without signing: the event lies beyond the newest checkpoint,
        // which the next keyed process proves before it signs.
        try catalog.append([AuditEntry(actor: "cli:op", action: "get", outcome: .ok, record: "r1")], signer: nil)
        try database.psql("""
            ALTER TABLE audit_events DISABLE TRIGGER USER;
            UPDATE audit_events SET record = 'r2' WHERE seq = 2;
            """)
        let restarted = try node()
        XCTAssertThrowsError(try restarted.append([AuditEntry(actor: "cli:op", action: "get", outcome: .ok)], signer: signer)) { error in
            guard case StorageError.auditRewritten = error else { return XCTFail("\(error)") }
        }
        XCTAssertFalse(try verifier.verify(restarted).isIntact)
    }

    func testAnotherVaultsDatabaseIsRefused() throws {
        _ = try created()
        XCTAssertThrowsError(try PostgresCatalog.open(location: database.location, password: database.password, vaultID: "another")) { error in
            XCTAssertTrue("\(error)".contains("another vault"), "\(error)")
        }
        XCTAssertThrowsError(try PostgresCatalog.create(location: database.location, password: database.password, vaultID: "another")) { error in
            XCTAssertTrue("\(error)".contains("already holds a Strongroom store"), "\(error)")
        }
        XCTAssertEqual(try PostgresCatalog.storedVaultID(location: database.location, password: database.password), keys.vaultID)
    }

    func testADatabaseANewerStrongroomMigratedIsRefused() throws {
        _ = try created()
        try database.psql("INSERT INTO strongroom_migrations (name, applied_at_ms) VALUES ('v99-future', 0)")
        XCTAssertThrowsError(try node()) { error in
            guard case StorageError.unsupportedFormat = error else { return XCTFail("\(error)") }
        }
    }

    func testAWrongPasswordIsRefusedNamingWhereThePasswordComesFrom() throws {
        XCTAssertThrowsError(try PostgresCatalog.open(location: database.location, password: "wrong", vaultID: keys.vaultID)) { error in
            guard case StorageError.database(let why) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("PGPASSWORD"), why)
            XCTAssertFalse(why.contains("wrong"), "the password is never repeated")
        }
    }

    func testAServerThatIsNotThereIsUnavailableNotAnError() throws {
        var away = database.location
        away.port = 1
        XCTAssertThrowsError(try PostgresCatalog.open(location: away, password: nil, vaultID: keys.vaultID)) { error in
            guard case StorageError.databaseUnavailable = error else { return XCTFail("\(error)") }
        }
    }

    func testAddressesWithAPasswordOrWithoutADatabaseAreRefused() {
        XCTAssertThrowsError(try PostgresLocation(parsing: "postgres://u:secret@127.0.0.1/db")) { error in
            XCTAssertFalse("\(error)".contains("secret"))
        }
        XCTAssertThrowsError(try PostgresLocation(parsing: "postgres://u@127.0.0.1/"))
        XCTAssertThrowsError(try PostgresLocation(parsing: "postgres://u@127.0.0.1/db?sslmode=prefer"))
        XCTAssertEqual(try PostgresLocation(parsing: "postgres://u@db.example/db").tls, true, "TLS unless the host is loopback")
        XCTAssertEqual(try PostgresLocation(parsing: "postgres://u@127.db.example/db").tls, true, "a name is not a loopback address")
        XCTAssertEqual(try PostgresLocation(parsing: "postgres://u@127.0.0.1/db").tls, false)
        XCTAssertEqual(try PostgresLocation(parsing: "postgresql://u@127.0.0.1:6543/db").port, 6543)
    }

    func testPasswordFileLinesMatchWithWildcardsAndEscapes() throws {
        let file = dir + "/pgpass"
        try "# comment\r\nother:5432:db:u:no\r\n127.0.0.1:*:d\\:b:u:pa\\:ss\r\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        let location = PostgresLocation(user: "u", host: "127.0.0.1", port: 5433, database: "d:b")
        XCTAssertEqual(try location.password(environment: ["PGPASSFILE": file]), "pa:ss")
        chmod(file, 0o644)
        XCTAssertThrowsError(try location.password(environment: ["PGPASSFILE": file]), "a file others can read is refused, as psql does")
    }

    func testPlaceholdersOutsideQuotesAreNumbered() {
        XCTAssertEqual(PostgresSQL.numbered("SELECT ? FROM t WHERE a = '?' AND b = ?"), "SELECT $1 FROM t WHERE a = '?' AND b = $2")
        XCTAssertEqual(PostgresSQL.statements("CREATE TABLE a (x TEXT); -- the table's comment; ignored\nCREATE FUNCTION f() AS $$ BEGIN; END $$; SELECT ';'").count, 3)
        XCTAssertEqual(PostgresSQL.statements(PostgresSchema.catalog).filter { $0.hasPrefix("CREATE TABLE") }.count, 28)
    }
}
