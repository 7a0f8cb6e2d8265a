import Foundation
import KeyManagement
@testable import Storage
import TestSupport
import XCTest
@testable import Vault

/// The vault, with today's SQLite catalog, keeping its blobs in an S3-compatible store (the
/// SeaweedFS that Scripts/test.sh starts; see Tests/StorageTests/S3BlobStoreTests.swift).
final class S3VaultTests: XCTestCase {
    var blobs: S3BlobStore!
    var prefix = ""

    override func setUpWithError() throws {
        try TestBackend.requireEmbedded("puts an embedded store's blobs in an object store of its own making")
        let (location, credentials) = try TestServers.s3(prefix: "vault")
        prefix = location.prefix
        blobs = S3BlobStore(client: S3Client(location: location, credentials: credentials))
    }

    override func tearDownWithError() throws {
        guard let blobs else { return }
        for name in (try? blobs.leftoverUploads()) ?? [] { try? blobs.removeLeftoverUpload(name) }
        if let ids = try? blobs.storedRecordIDs() { try? blobs.delete(recordIDs: ids) }
        // Shared files and the store's claim, where a test made a store on the object store.
        let others = ((try? blobs.client.listObjects(prefix: prefix)) ?? []).map(\.key)
        for key in others { try? blobs.client.deleteObject(key: key) }
        _ = try? blobs.client.removeVersions(of: others)
    }

    /// The fixture's vault, with its blobs in the object store instead of files.
    func vault(_ f: VaultFixture) -> Vault {
        Vault(layout: f.layout, vaultID: f.vault.vaultID, publicKey: f.vault.publicKey, keys: f.vault.keyStore, keyFiles: f.vault.keyFiles,
              catalog: f.vault.catalog, blobs: blobs, clock: f.vault.clock)
    }

    func testEvidenceStoredInTheObjectStoreReadsBackAndVerifies() throws {
        let f = try VaultFixture()
        let v = vault(f)
        let line = Array("The child said she did not want to go home tonight.\n".utf8)
        let small = try f.put(line, kind: "disclosure", into: v)
        var large: [UInt8] = []  // more than one 8 MiB part: a multipart upload
        while large.count < 9 << 20 { large += line }
        let big = try f.put(large, kind: "disclosure", into: v)
        XCTAssertEqual(try f.get(small.id, from: v), line)
        XCTAssertEqual(try f.get(big.id, from: v), large)
        XCTAssertEqual(try blobs.storedRecordIDs(), [small.id, big.id].sorted())
        XCTAssertEqual(try blobs.client.listObjects(prefix: prefix).map(\.key).sorted(), [prefix + small.id, prefix + big.id].sorted())
        XCTAssertFalse(f.allStoreFiles().contains { $0.hasSuffix(".blob") }, "no blob on the local disk")
        let report = try v.audit.verify(by: .operator("test"), useKeys: true)
        XCTAssertEqual(report.records, 2)
        XCTAssertEqual(report.intact, 2)
        XCTAssertEqual(report.missing, [])
        XCTAssertEqual(report.orphans, [])
        XCTAssertEqual(report.leftovers, [])
    }

    func testGcRemovesAnOrphanObjectAndALeftoverUpload() throws {
        let f = try VaultFixture()
        let v = vault(f)
        let kept = try f.put(Array("Kept.\n".utf8), kind: "disclosure", into: v)
        let orphan = RecordID.generate()
        let upload = try blobs.beginWrite(recordID: orphan)
        try [UInt8](repeating: 7, count: 100).withUnsafeBytes { try upload.write($0) }
        try upload.commit()
        let crashed = try XCTUnwrap(try blobs.beginWrite(recordID: RecordID.generate()) as? S3BlobUpload)
        try [UInt8](repeating: 1, count: blobs.partSize + 1).withUnsafeBytes { try crashed.write($0) }
        crashed.finished = true  // as if the process died: neither committed nor aborted
        let before = try v.audit.verify(by: .operator("test"), useKeys: true)
        XCTAssertEqual(before.orphans, [orphan])
        XCTAssertEqual(before.leftovers.count, 1)
        let gc = try v.audit.gc(by: .operator("test"))
        XCTAssertEqual(gc.removedOrphans, [orphan])
        XCTAssertEqual(gc.removedLeftovers.count, 1)
        XCTAssertEqual(try blobs.storedRecordIDs(), [kept.id])
        XCTAssertEqual(try blobs.leftoverUploads(), [])
    }

    func testABundleReleasedThroughOneNodeDownloadsThroughAnotherAndIsPurgedFromTheObjectStore() throws {
        let clock = TestClock("2026-03-01")
        var options = Vault.Options()
        options.clock = { clock.read() }
        options.blobs = .objectStore(blobs.location, try S3Credentials.fromEnvironment())
        let f = try VaultFixture(options: options)
        let nodeA = f.vault
        let nodeB = try f.reopen(options: options)
        let dsl = try f.signIn("dsl1", .dsl, schools: ["S1"])
        let deputy = try f.signIn("deputy1", .deputy, schools: ["S1"])
        _ = try nodeA.bundles.addRecipient(.init(school: "S1", name: "Police", ageRecipient: nil, passphrase: true), by: .integration(dsl))
        let note = try f.put(Array("The child said she did not want to go home tonight.\n".utf8), kind: "disclosure", into: nodeA)
        let draft = try nodeA.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "section 47 enquiry",
                                                         items: [.init(record: note.id, mode: .asIs)]), by: .integration(dsl))
        let release = try nodeA.bundles.approveBundle(id: draft.id, link: LinkTerms(expiresInDays: 7), by: .integration(deputy))

        let name = "\(draft.id)-\(release.bundle.claim!).age"
        XCTAssertEqual(try blobs.client.listObjects(prefix: prefix + "files/").map(\.key), [prefix + "files/bundles/" + name])
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.layout.bundles), "nothing of it on the node's disk")

        let download = try nodeB.bundles.useBundleLink(token: release.token, by: .linkHolder(source: "test"))
        XCTAssertEqual(download.path, "s3://\(blobs.location.bucket)/\(prefix)files/bundles/\(name)")
        XCTAssertEqual(download.size, release.bundle.archiveSize)
        let bytes = try XCTUnwrap(try download.file.readToEnd())
        XCTAssertEqual(Int64(bytes.count), release.bundle.archiveSize)
        XCTAssertEqual(Hex.encode(SHA256Hasher.hash(Array(bytes))), release.bundle.archiveSHA256, "the very file node A wrote")
        XCTAssertTrue(bytes.starts(with: Array("age-encryption.org/v1\n".utf8)), "ciphertext only")

        clock.advance(days: 8)
        XCTAssertEqual(nodeB.bundles.purgeEndedBundleFiles(), 1, "the expired link's file is swept by either node")
        XCTAssertEqual(try blobs.client.listObjects(prefix: prefix + "files/"), [])
        XCTAssertThrowsError(try nodeA.bundles.useBundleLink(token: release.token, by: .linkHolder(source: "test"))) {
            guard case VaultError.linkUnusable(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("expired"), why)
        }
    }

    func testALiveRecordHiddenBehindADeleteMarkerIsReportedAndNeverPurgedByGc() throws {
        let f = try VaultFixture()
        let v = vault(f)
        let r = try f.put(Array("The only copy of this note.\n".utf8), kind: "disclosure", into: v)
        // Someone with the bucket's credentials deletes the object: a delete marker hides it.
        try blobs.client.deleteObject(key: blobs.key(r.id))
        XCTAssertNil(try blobs.open(recordID: r.id))
        let gc = try v.audit.gc(by: .operator("test"))
        XCTAssertEqual(gc.deleteMarkedLive, [r.id])
        let versions = try blobs.client.listObjectVersions(prefix: blobs.key(r.id)).filter { !$0.isDeleteMarker }
        XCTAssertEqual(versions.count, 1, "the record's data is still in the bucket, to be restored")
        XCTAssertTrue(try f.events.contains { $0.action == "gc" && ($0.reason ?? "").contains("1 live records hidden by a delete marker") })
    }

    func testShredUnderObjectLockDestroysTheKeyAndLeavesOnlyLockedNoise() throws {
        // Each object locked until a few seconds from now: the store's clock runs a day minus 6 s behind.
        var location = blobs.location
        location.retention = S3Retention(mode: .compliance, days: 1)
        blobs = S3BlobStore(client: S3Client(location: location, credentials: try S3Credentials.fromEnvironment()),
                            clock: { Date().addingTimeInterval(-86_400 + 6) })
        let f = try VaultFixture()
        let v = vault(f)
        let dsl = try f.signIn("dsl1", .dsl, schools: ["S1"])
        let dpo = try f.signIn("dpo1", .dpo, schools: ["S1"])
        let keep = try f.put(Array("Note of a disclosure, written down by staff: keep.\n".utf8), kind: "disclosure", child: "C2", into: v)
        let r = try f.put(Array("Note of a disclosure, written down by staff: shred.\n".utf8), kind: "disclosure", into: v)
        XCTAssertEqual(try blobs.client.getObjectRetention(key: blobs.key(r.id))?.mode, "COMPLIANCE")
        // The kept record moves to the KEK of another review month, so the shred destroys r's KEK.
        _ = try v.lifecycle.setDateOfBirth(child: "C2", dob: "2010-01-01", by: .operator("op"))

        let request = try v.lifecycle.requestShred(school: "S1", records: [r.id], reason: "retention reviewed", by: .integration(dpo))
        let certificate = try v.lifecycle.approveShred(id: request.id, by: .integration(dsl))
        XCTAssertEqual(certificate.records.first?.kekDestroyed, true, "the key is gone although the object is locked")
        XCTAssertThrowsError(try f.get(r.id, from: v))
        XCTAssertNil(try blobs.open(recordID: r.id), "unreachable at once")
        XCTAssertEqual(try blobs.storedRecordIDs(), [keep.id])
        let locked = try blobs.client.listObjectVersions(prefix: blobs.key(r.id)).filter { !$0.isDeleteMarker }
        XCTAssertEqual(locked.count, 1, "the locked ciphertext stays until its date")
        let report = try v.audit.verify(by: .operator("test"), useKeys: true)
        XCTAssertTrue(report.isIntact, "\(report)")
        XCTAssertEqual(report.tombstones, 1)

        Thread.sleep(forTimeInterval: 7)
        let gc = try v.audit.gc(by: .operator("test"))
        XCTAssertEqual(gc.lockedVersionsKept, 0, "the lock has ended")
        XCTAssertEqual(try blobs.client.listObjectVersions(prefix: blobs.key(r.id)), [])
        XCTAssertEqual(try f.get(keep.id, from: v), Array("Note of a disclosure, written down by staff: keep.\n".utf8))
    }
}
