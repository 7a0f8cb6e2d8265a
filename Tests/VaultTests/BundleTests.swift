import Foundation
import KeyManagement
import Redaction
import Storage
import TestSupport
import XCTest
@testable import Vault

/// Bundles for agencies, checked with the tools a recipient has: Debian's age and minisign,
/// Python's zipfile, exiftool, pdftotext.
final class BundleTests: XCTestCase {
    var clock: TestClock!
    var f: VaultFixture!
    var work: String!
    let dsl = Principal(name: "dsl1", role: .dsl, schools: ["S1"])
    let deputy = Principal(name: "deputy1", role: .deputy, schools: ["S1"])
    let otherDSL = Principal(name: "dsl2", role: .dsl, schools: ["S2"])
    let staff = Principal(name: "staff1", role: .staff, schools: ["S1"])
    let dpo = Principal(name: "dpo1", role: .dpo, schools: ["S1"])
    var agency: (file: String, recipient: String)!

    override func setUpWithError() throws {
        clock = TestClock("2026-03-01")
        var options = Vault.Options()
        let c = clock!
        options.clock = { c.read() }
        f = try VaultFixture(options: options)
        work = f.root + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        agency = try StockAge.keygen(in: work, name: "social-care")
        _ = try f.vault.bundles.addRecipient(.init(school: "S1", name: "Children's Social Care", contact: "mash@example.gov.uk",
                                           ageRecipient: agency.recipient, passphrase: false), by: .integration(dsl))
        _ = try f.vault.bundles.addRecipient(.init(school: "S1", name: "Police", ageRecipient: nil, passphrase: true), by: .integration(dsl))
    }

    // MARK: helpers

    func put(_ sample: String, kind: String = "document", child: String = "C1", school: String = "S1") throws -> EvidenceRecord {
        try f.put(try VaultFixture.sampleBytes(sample), kind: kind, filename: sample, school: school, child: child)
    }

    func text(_ body: String, child: String = "C1") throws -> EvidenceRecord {
        try f.put(Array(body.utf8), kind: "disclosure", filename: "note.txt", child: child)
    }

    /// Decrypts a released bundle with stock age and unpacks it with Python; returns the folder.
    func open(_ release: ReleasedBundle, passphrase: String? = nil) throws -> String {
        let path = try f.localCopy(.bundles, "\(release.bundle.id)-\(release.bundle.claim!).age")
        let run = try passphrase.map { try StockAge.decrypt(file: path, passphrase: $0) } ?? StockAge.decrypt(file: path, identity: agency.file)
        XCTAssertEqual(run.status, 0, run.stderr)
        let zip = work + "/\(release.bundle.id).zip"
        try run.stdout.write(to: URL(fileURLWithPath: zip))
        let out = work + "/\(release.bundle.id)"
        let unzip = try unzipWithPython(zip, into: out)
        XCTAssertEqual(unzip.status, 0, unzip.stderr)
        return out + "/bundle-\(release.bundle.id.prefix(8))"
    }

    func manifest(_ folder: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json"))) as! [String: Any]
    }

    func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    func events(_ action: String) throws -> [AuditEvent] { try f.events.filter { $0.action == action } }

    // MARK: the whole path

    func testABundleOpensWithStockAgeItsManifestVerifiesWithMinisignAndRedactionIsReal() throws {
        try TestBackend.requireEmbedded("opens the released file in the store folder with stock age")
        let photo = try put("injury-photo-with-gps.jpg", kind: "body-map")
        let minutes = try put("strategy-meeting-minutes.pdf", kind: "minutes")
        let note = try text("Pupil X said D. Third-Party hit her.\nthird-party lives at 4 Elm Road.\n")
        let bodyMap = try f.put(try VaultFixture.sampleBytes("body-map-front.png") + Array("AFTER-IEND".utf8), kind: "body-map", filename: "map.png")
        let letter = try put("tac-meeting-minutes.docx", kind: "minutes")

        let draft = try f.vault.bundles.createBundle(BundleRequest(school: "S1", recipient: "Children's Social Care", reason: "Section 47 enquiry", items: [
            .init(record: photo.id, mode: .redacted, rects: [[100, 200, 300, 150]]),
            .init(record: minutes.id, mode: .redacted, rects: [[40, 150, 500, 60, 1]]),
            .init(record: note.id, mode: .redacted, terms: ["Third-Party", "4 Elm Road"]),
            .init(record: bodyMap.id, mode: .asIs),
            .init(record: letter.id, mode: .asIs, confirm: true),
        ]), by: .integration(dsl))
        XCTAssertEqual(draft.state, .draft)
        XCTAssertEqual(try f.sharedFileNames(.bundles), [], "nothing is built before approval")

        let release = try f.vault.bundles.approveBundle(id: draft.id, by: .integration(deputy))
        XCTAssertEqual(release.bundle.state, .released)
        XCTAssertNil(release.passphrase)
        let folder = try open(release)

        // The manifest verifies with stock minisign and the vault's public key, and a changed byte does not.
        let key = f.vault.publicKey.minisignBase64
        let verify = try runTool("/usr/bin/minisign", ["-Vm", folder + "/manifest.json", "-P", key])
        XCTAssertEqual(verify.status, 0, verify.stderr + verify.text)
        var changed = try bytes(folder + "/manifest.json")
        changed[changed.count / 2] ^= 0x01
        try Data(changed).write(to: URL(fileURLWithPath: work + "/manifest.json"))
        try FileManager.default.copyItem(atPath: folder + "/manifest.json.minisig", toPath: work + "/manifest.json.minisig")
        XCTAssertNotEqual(try runTool("/usr/bin/minisign", ["-Vm", work + "/manifest.json", "-P", key]).status, 0)

        let m = try manifest(folder)
        XCTAssertEqual(m["bundle"] as? String, draft.id)
        XCTAssertEqual((m["createdBy"] as? [String: Any])?["actor"] as? String, dsl.actor.description)
        XCTAssertEqual((m["approvedBy"] as? [String: Any])?["actor"] as? String, deputy.actor.description)
        XCTAssertEqual((m["recipient"] as? [String: Any])?["name"] as? String, "Children's Social Care")
        let items = try XCTUnwrap(m["items"] as? [[String: Any]])
        XCTAssertEqual(items.count, 5)
        for item in items {
            let path = folder + "/" + (item["path"] as! String)
            XCTAssertEqual(Hex.encode(SHA256Hasher.hash(try bytes(path))), item["deliveredSHA256"] as? String, "\(path)")
        }
        XCTAssertEqual(items[0]["originalSHA256"] as? String, photo.sha256)
        XCTAssertNil(items[0]["filename"], "a redacted item's filename is left out")
        XCTAssertEqual(items[4]["filename"] as? String, "tac-meeting-minutes.docx")
        XCTAssertEqual(Hex.encode(SHA256Hasher.hash(try bytes(folder + "/README.txt"))), m["readmeSHA256"] as? String)
        let readme = try String(contentsOfFile: folder + "/README.txt", encoding: .utf8)
        XCTAssertTrue(readme.contains("minisign -Vm manifest.json -P \(key)"))
        XCTAssertTrue(readme.contains(release.receiptPath))

        // The JPEG: no EXIF or GPS, the rectangle black.
        let jpeg = folder + "/" + (items[0]["path"] as! String)
        let exif = try runTool("exiftool", ["-a", "-G", "-s", jpeg]).text
        XCTAssertFalse(exif.contains("GPS"), exif)
        XCTAssertFalse(exif.contains("[EXIF]"), exif)
        let pixels = try Redactor().decode(try bytes(jpeg), format: .jpeg)
        XCTAssertTrue(pixels.pixel(x: 250, y: 275).prefix(3).allSatisfy { $0 < 16 })

        // The PDF: no text at all, one revision.
        let pdf = folder + "/" + (items[1]["path"] as! String)
        XCTAssertEqual(try runTool("pdftotext", [pdf, "-"]).text.trimmingCharacters(in: .whitespacesAndNewlines.union(.init(charactersIn: "\u{0C}"))), "")
        XCTAssertEqual(try bytes(pdf).ranges(of: Array("%%EOF".utf8)).count, 1)

        // The text: the terms replaced, whatever their case.
        let redactedNote = try String(contentsOfFile: folder + "/" + (items[2]["path"] as! String), encoding: .utf8)
        XCTAssertEqual(redactedNote, "Pupil X said D. [REDACTED] hit her.\n[REDACTED] lives at [REDACTED].\n")

        // The PNG shared as-is lost what followed IEND; the office document is byte for byte.
        let png = try bytes(folder + "/" + (items[3]["path"] as! String))
        XCTAssertNil(png.firstRange(of: Array("AFTER-IEND".utf8)))
        XCTAssertEqual(try bytes(folder + "/" + (items[4]["path"] as! String)), try VaultFixture.sampleBytes("tac-meeting-minutes.docx"))

        // The terms never reach the database, the audit log or the manifest.
        let database = try bytes(f.layout.metadata) + ((try? bytes(f.layout.metadata + "-wal")) ?? [])
        XCTAssertNil(database.firstRange(of: Array("4 Elm Road".utf8)), "a redaction term is stored in the clear")
        XCTAssertNil(try bytes(folder + "/manifest.json").firstRange(of: Array("Elm Road".utf8)))

        // Every record's audit trail shows the share; the release names both people.
        let shares = try events("share")
        XCTAssertEqual(Set(shares.compactMap(\.record)), Set([photo.id, minutes.id, note.id, bodyMap.id, letter.id]))
        XCTAssertTrue(shares.allSatisfy { $0.actor.description == deputy.actor.description && ($0.reason ?? "").contains(draft.id) })
        XCTAssertEqual(try events("bundle-release").count, 1)
    }

    func testAPassphraseRecipientGetsAPassphraseOnceAndStockAgeOpensTheBundleWithIt() throws {
        let note = try text("Disclosure written down on the day.\n")
        let draft = try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "Police investigation",
                                                  items: [.init(record: note.id, mode: .original)]), by: .integration(deputy))
        let release = try f.vault.bundles.approveBundle(id: draft.id, by: .integration(dsl))
        let passphrase = try XCTUnwrap(release.passphrase)
        XCTAssertEqual(passphrase.count, 29)
        let folder = try open(release, passphrase: passphrase)
        let m = try manifest(folder)
        let item = try XCTUnwrap((m["items"] as? [[String: Any]])?.first)
        XCTAssertEqual(try bytes(folder + "/" + (item["path"] as! String)), Array("Disclosure written down on the day.\n".utf8))
        // Nothing stored holds the passphrase: no file of the folder, or nothing in the database
        // and the bucket.
        for (place, stored) in try f.store.contents() {
            XCTAssertNil(stored.firstRange(of: Array(passphrase.utf8)), "\(place) holds the passphrase")
        }
        XCTAssertNotEqual(try StockAge.decrypt(file: try f.localCopy(.bundles, "\(draft.id)-\(release.bundle.claim!).age"), passphrase: "wrong-guess").status, 0)
    }

    // MARK: four eyes and roles

    func testABundleCannotBeReleasedByItsCreatorAlone() throws {
        let note = try text("A note.\n")
        let draft = try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "r", items: [.init(record: note.id, mode: .asIs)]),
                                             by: .integration(dsl))
        XCTAssertThrowsError(try f.vault.bundles.approveBundle(id: draft.id, by: .integration(dsl))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try events("bundle-approve").last?.outcome, "denied")
        XCTAssertEqual(try f.vault.bundles.bundle(id: draft.id, by: .integration(dsl)).0.state, .draft)
        XCTAssertEqual(try f.sharedFileNames(.bundles), [])
        // Released once by the second person, and not twice.
        XCTAssertNoThrow(try f.vault.bundles.approveBundle(id: draft.id, by: .integration(deputy)))
        XCTAssertThrowsError(try f.vault.bundles.approveBundle(id: draft.id, by: .integration(deputy))) {
            guard case VaultError.conflict = $0 else { return XCTFail("\($0)") }
        }
    }

    func testStaffAndDPOCannotBuildOrApproveAndAnotherSchoolSeesNothing() throws {
        let note = try text("A note.\n")
        let request = BundleRequest(school: "S1", recipient: "Police", reason: "r", items: [.init(record: note.id, mode: .asIs)])
        for p in [staff, dpo] {
            XCTAssertThrowsError(try f.vault.bundles.createBundle(request, by: .integration(p))) {
                guard case VaultError.forbidden = $0 else { return XCTFail("\(p.role): \($0)") }
            }
        }
        XCTAssertThrowsError(try f.vault.bundles.createBundle(request, by: .integration(otherDSL)))
        let draft = try f.vault.bundles.createBundle(request, by: .integration(dsl))
        for p in [staff, dpo] {
            XCTAssertThrowsError(try f.vault.bundles.approveBundle(id: draft.id, by: .integration(p))) {
                guard case VaultError.forbidden = $0 else { return XCTFail("\(p.role): \($0)") }
            }
        }
        XCTAssertThrowsError(try f.vault.bundles.approveBundle(id: draft.id, by: .integration(otherDSL))) {
            guard case VaultError.notFound = $0 else { return XCTFail("\($0)") }
        }
        // A record of another school cannot be slipped into a bundle.
        let foreign = try f.put(Array("Other school's note.\n".utf8), kind: "disclosure", school: "S2")
        XCTAssertThrowsError(try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "r",
                                                            items: [.init(record: foreign.id, mode: .asIs)]), by: .integration(dsl))) {
            guard case VaultError.notFound = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertTrue(try f.events.filter { $0.outcome == "denied" }.count >= 6)
    }

    func testModesTheTypeDoesNotAllowAreRefusedWithTheReason() throws {
        let letter = try put("tac-meeting-minutes.docx", kind: "minutes")
        let photo = try put("injury-photo-with-gps.jpg", kind: "body-map")
        let note = try text("A note.\n")
        func refusal(_ item: BundleItemRequest) -> String {
            do {
                _ = try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "r", items: [item]), by: .integration(dsl))
                return "accepted"
            } catch VaultError.invalidArgument(let why) { return why } catch { return "\(error)" }
        }
        XCTAssertTrue(refusal(.init(record: letter.id, mode: .redacted, rects: [[0, 0, 1, 1]])).contains("give no rectangles"))
        XCTAssertTrue(refusal(.init(record: letter.id, mode: .redacted)).contains("upload a redacted PDF"))
        XCTAssertTrue(refusal(.init(record: letter.id, mode: .asIs)).contains("confirm: true"))
        XCTAssertTrue(refusal(.init(record: photo.id, mode: .redacted)).contains("at least one rectangle"))
        XCTAssertTrue(refusal(.init(record: photo.id, mode: .asIs, rects: [[0, 0, 1, 1]])).contains("use mode redacted"))
        XCTAssertTrue(refusal(.init(record: note.id, mode: .redacted, rects: [[0, 0, 1, 1]])).contains("terms or spans"))
        XCTAssertTrue(refusal(.init(record: photo.id, mode: .redacted, rects: [[0, 0, 1]])).contains("[x, y, width, height]"))
        XCTAssertTrue(refusal(.init(record: note.id, mode: .asIs)) == "accepted")
    }

    func testARedactionThatCannotBeDoneLeavesTheDraftAndNoFile() throws {
        let photo = try put("injury-photo-with-gps.jpg", kind: "body-map")
        let draft = try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "r",
                                                  items: [.init(record: photo.id, mode: .redacted, rects: [[1590, 0, 50, 50]])]), by: .integration(dsl))
        XCTAssertThrowsError(try f.vault.bundles.approveBundle(id: draft.id, by: .integration(deputy))) {
            guard case VaultError.invalidArgument(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("does not lie inside"), why)
        }
        XCTAssertEqual(try f.vault.bundles.bundle(id: draft.id, by: .integration(dsl)).0.state, .draft)
        XCTAssertEqual(try f.sharedFileNames(.bundles), [])
        XCTAssertEqual(try events("share").count, 0)
        let failed = try XCTUnwrap(try events("bundle-approve").last)
        XCTAssertEqual(failed.outcome, "failed")
        XCTAssertTrue((failed.reason ?? "").contains("does not lie inside"), failed.reason ?? "")
    }

    func testAPixelFloodImageIsRefusedAtReleaseBeforeDecoding() throws {
        let flood = pixelFloodPNG(width: 60_000, height: 60_000)
        let record = try f.put(flood, kind: "body-map", filename: "flood.png")
        let draft = try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "r", items: [.init(record: record.id, mode: .asIs)]),
                                             by: .integration(dsl))
        XCTAssertThrowsError(try f.vault.bundles.approveBundle(id: draft.id, by: .integration(deputy))) {
            guard case VaultError.cannotRedact(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("60000x60000"), why)
        }
    }

    // MARK: links

    func testALinkIsLimitedRevocableExpiresAndEveryUseIsAudited() throws {
        let note = try text("A note.\n")
        func release(max: Int? = nil) throws -> ReleasedBundle {
            let draft = try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Children's Social Care", reason: "r",
                                                      items: [.init(record: note.id, mode: .asIs)]), by: .integration(dsl))
            return try f.vault.bundles.approveBundle(id: draft.id, link: LinkTerms(expiresInDays: 7, maxDownloads: max), by: .integration(deputy))
        }
        func unusable(_ token: String, _ expected: String, line: UInt = #line) {
            XCTAssertThrowsError(try f.vault.bundles.useBundleLink(token: token, by: .linkHolder(source: "test")), line: line) {
                guard case VaultError.linkUnusable(let why) = $0 else { return XCTFail("\($0)", line: line) }
                XCTAssertTrue(why.contains(expected), why, line: line)
            }
        }
        // Used up after its one download.
        let once = try release(max: 1)
        let download = try f.vault.bundles.useBundleLink(token: once.token, by: .linkHolder(source: "test"))
        XCTAssertTrue(download.last)
        XCTAssertEqual(download.size, once.bundle.archiveSize)
        unusable(once.token, "used")
        XCTAssertNil(try f.sharedFile(.bundles, download.path), "a used-up link's file is removed")

        // Revoked.
        let revoked = try release()
        XCTAssertNoThrow(try f.vault.bundles.useBundleLink(token: revoked.token, by: .linkHolder(source: "test")))
        try f.vault.bundles.revokeBundleLink(id: revoked.bundle.id, by: .integration(deputy))
        unusable(revoked.token, "revoked")

        // Expired after seven days; a receipt is still taken.
        let expiring = try release()
        clock.advance(days: 6)
        XCTAssertNoThrow(try f.vault.bundles.useBundleLink(token: expiring.token, by: .linkHolder(source: "test")))
        clock.advance(days: 1)
        unusable(expiring.token, "expired")
        XCTAssertNotNil(try f.vault.bundles.confirmBundleReceipt(token: expiring.receiptToken, by: .linkHolder(source: "test")).receiptAtMillis)
        XCTAssertThrowsError(try f.vault.bundles.confirmBundleReceipt(token: expiring.token, by: .linkHolder(source: "test")), "the download token is not the receipt token")

        // Unknown and malformed tokens look alike. (Each from its own address: a second refusal
        // from one address within a minute is counted, not written at once.)
        for (n, token) in [String(repeating: "A", count: 43), "short", "../../etc/passwd"].enumerated() {
            XCTAssertThrowsError(try f.vault.bundles.useBundleLink(token: token, by: .linkHolder(source: "192.0.2.\(n + 10)"))) {
                guard case VaultError.notFound = $0 else { return XCTFail("\($0)") }
            }
        }

        let downloads = try events("bundle-download")
        XCTAssertEqual(downloads.filter { $0.outcome == "ok" }.count, 3)
        XCTAssertEqual(downloads.filter { $0.outcome == "denied" }.count, 6)
        for reason in ["used up", "revoked", "expired", "unknown link", "malformed link"] {
            XCTAssertTrue(downloads.contains { ($0.reason ?? "").contains(reason) }, reason)
        }
        XCTAssertEqual(try events("bundle-receipt").map(\.outcome), ["ok", "denied"])
        XCTAssertEqual(try events("bundle-revoke").count, 1)

        // The name removed after the use was granted (a sweep, another download using the link
        // up): this download has the open file and reads it whole.
        // (A file on disk only: in an object store a download whose object is deleted breaks off,
        // as docs/storage-s3.md says.)
        if !TestBackend.isShared {
            let swept = try release()
            let granted = try f.vault.bundles.useBundleLink(token: swept.token, by: .linkHolder(source: "test"))
            try f.vault.sharedFiles.delete(.bundles, name: String(granted.path.split(separator: "/").last!))
            XCTAssertEqual(Int64(try granted.file.readToEnd()?.count ?? 0), swept.bundle.archiveSize)
        }

        // The file gone (a restored store, a disk cleaned by hand): the use counted as allowed is
        // followed in the log by a failure saying nothing was sent.
        let lost = try release()
        let path = try f.vault.bundles.useBundleLink(token: lost.token, by: .linkHolder(source: "test")).path
        try f.vault.sharedFiles.delete(.bundles, name: String(path.split(separator: "/").last!))
        unusable(lost.token, "no longer held")
        XCTAssertEqual(try events("bundle-download").suffix(2).map(\.outcome), ["ok", "failed"])
        XCTAssertTrue(try events("bundle-download").last?.reason?.contains("nothing was sent") == true)
    }

    func testTheChronologyShowsWhatWasSharedWithWhomWhenByWhomAndWhy() throws {
        let note = try text("A note about C1.\n")
        let other = try text("A note about C2.\n", child: "C2")
        let draft = try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Children's Social Care", reason: "Child protection conference",
                                                  items: [.init(record: note.id, mode: .asIs)]), by: .integration(dsl))
        _ = try f.vault.bundles.approveBundle(id: draft.id, by: .integration(deputy))
        let (records, shares) = try f.vault.records.chronologyAndShares(child: "C1", school: "S1", limit: 100, offset: 0, by: .integration(dsl))
        XCTAssertEqual(records.map(\.id), [note.id])
        XCTAssertEqual(shares.count, 1)
        let share = try XCTUnwrap(shares.first)
        XCTAssertEqual(share.bundle.recipient, "Children's Social Care")
        XCTAssertEqual(share.bundle.reason, "Child protection conference")
        XCTAssertEqual(share.bundle.createdBy, dsl.actor.description)
        XCTAssertEqual(share.bundle.approvedBy, deputy.actor.description)
        XCTAssertNotNil(share.bundle.releasedAtMillis)
        XCTAssertEqual(share.items.map(\.record), [note.id])
        XCTAssertEqual(try f.vault.records.chronologyAndShares(child: "C2", school: "S1", limit: 100, offset: 0, by: .integration(dsl)).shares.count, 0)
        _ = other
    }

    func testShreddingARecordRevokesEveryLiveLinkToABundleHoldingIt() throws {
        let note = try text("To be shredded.\n")
        let kept = try text("Kept.\n")
        func release(_ ids: [String]) throws -> ReleasedBundle {
            let draft = try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Children's Social Care", reason: "r",
                                                      items: ids.map { .init(record: $0, mode: .asIs) }), by: .integration(dsl))
            return try f.vault.bundles.approveBundle(id: draft.id, by: .integration(deputy))
        }
        let holding = try release([note.id, kept.id]), other = try release([kept.id])
        let requester = try f.signIn(dpo), approver = try f.signIn(dsl)
        let request = try f.vault.lifecycle.requestShred(school: "S1", records: [note.id], reason: "lawful erasure", by: .integration(requester))
        _ = try f.vault.lifecycle.approveShred(id: request.id, by: .integration(approver))
        XCTAssertThrowsError(try f.vault.bundles.useBundleLink(token: holding.token, by: .linkHolder(source: "test"))) {
            guard case VaultError.linkUnusable = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertFalse(try f.sharedFileNames(.bundles).contains("\(holding.bundle.id)-\(holding.bundle.claim!).age"))
        XCTAssertNoThrow(try f.vault.bundles.useBundleLink(token: other.token, by: .linkHolder(source: "test")), "a bundle without the record keeps its link")
        XCTAssertTrue(try events("bundle-revoke").contains { ($0.reason ?? "").contains(request.id) })
    }

    func testAShredWhileABundleIsBeingReleasedStopsTheRelease() throws {
        let doomed = try text("To be shredded during the release.\n")
        let kept = try text("Kept.\n")
        let dsl = try f.signIn(self.dsl), dpo = try f.signIn(self.dpo)
        let draft = try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Children's Social Care", reason: "r",
                                                  items: [.init(record: doomed.id, mode: .asIs), .init(record: kept.id, mode: .asIs)]),
                                             by: .integration(deputy))
        var shredded = false
        Vault.afterBundleItemRead = { [f, dsl, dpo] in
            guard !shredded else { return }
            shredded = true
            let request = try! f!.vault.lifecycle.requestShred(school: "S1", records: [doomed.id], reason: "lawful erasure", by: .integration(dpo))
            _ = try! f!.vault.lifecycle.approveShred(id: request.id, by: .integration(dsl))
        }
        defer { Vault.afterBundleItemRead = nil }
        XCTAssertThrowsError(try f.vault.bundles.approveBundle(id: draft.id, by: .integration(dsl))) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("shredded"), why)
        }
        XCTAssertTrue(shredded)
        XCTAssertEqual(try f.sharedFileNames(.bundles), [], "no file of the failed release is left")
        XCTAssertEqual(try f.vault.bundles.bundle(id: draft.id, by: .integration(dsl)).0.state, .draft)
        XCTAssertEqual(try events("share").count, 0)
    }

    func testTwoApprovalsAtOnceReleaseOnceAndTheFileSurvives() throws {
        let note = try text("A note.\n")
        let draft = try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Children's Social Care", reason: "r",
                                                  items: [.init(record: note.id, mode: .asIs)]), by: .integration(dsl))
        let other = Principal(name: "deputy2", role: .deputy, schools: ["S1"])
        var second: Result<ReleasedBundle, Error>?
        Vault.afterBundleItemRead = { [f, other] in
            Vault.afterBundleItemRead = nil
            second = Result { try f!.vault.bundles.approveBundle(id: draft.id, by: .integration(other)) }
        }
        defer { Vault.afterBundleItemRead = nil }
        let first = try f.vault.bundles.approveBundle(id: draft.id, by: .integration(deputy))
        XCTAssertThrowsError(try second!.get()) {
            guard case VaultError.conflict = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try f.vault.bundles.bundle(id: draft.id, by: .integration(dsl)).0.approvedBy, deputy.actor.description)
        XCTAssertNoThrow(try f.vault.bundles.useBundleLink(token: first.token, by: .linkHolder(source: "test")), "the released bundle's file is intact")
    }

    func testRedactedCopiesGoOutOnlyThroughTheirOriginalAndOfficeOriginalsNeedConfirmation() throws {
        let letter = try put("tac-meeting-minutes.docx", kind: "minutes")
        let copy = try putCopy(try VaultFixture.sampleBytes("strategy-meeting-minutes.pdf"), of: letter.id)
        for mode in [BundleItemMode.asIs, .original, .redacted] {
            XCTAssertThrowsError(try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "r",
                                                               items: [.init(record: copy.id, mode: mode, rects: mode == .redacted ? [[0, 0, 9, 9]] : nil)]),
                                                          by: .integration(dsl)), "\(mode)") {
                guard case VaultError.invalidArgument(let why) = $0 else { return XCTFail("\($0)") }
                XCTAssertTrue(why.contains("redacted copy"), why)
            }
        }
        XCTAssertThrowsError(try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "r",
                                                           items: [.init(record: letter.id, mode: .original)]), by: .integration(dsl)))
        XCTAssertNoThrow(try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "r",
                                                       items: [.init(record: letter.id, mode: .original, confirm: true)]), by: .integration(dsl)))
        // A copy uploaded after the draft is not what the approver releases.
        let draft = try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "r",
                                                  items: [.init(record: letter.id, mode: .redacted)]), by: .integration(dsl))
        _ = try putCopy(try VaultFixture.sampleBytes("strategy-meeting-minutes.pdf") + Array("%%EOF\n".utf8), of: letter.id)
        let release = try f.vault.bundles.approveBundle(id: draft.id, by: .integration(deputy))
        let folder = try open(release, passphrase: release.passphrase)
        let item = try XCTUnwrap((try manifest(folder)["items"] as? [[String: Any]])?.first)
        XCTAssertEqual(item["redactedCopy"] as? String, copy.id, "the copy pinned at draft time")
        XCTAssertTrue(try events("share").contains { $0.record == copy.id }, "the copy's own audit trail shows the share")
    }

    func testFilesOfEndedLinksAndCrashedReleasesAreSweptAndLiveOnesKept() throws {
        try TestBackend.requireEmbedded("plants stray and aged files in the bundles folder (the object store's sweep is S3SharedFilesTests')")
        let note = try text("A note.\n")
        func release(days: Int) throws -> ReleasedBundle {
            let draft = try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Children's Social Care", reason: "r",
                                                      items: [.init(record: note.id, mode: .asIs)]), by: .integration(dsl))
            return try f.vault.bundles.approveBundle(id: draft.id, link: LinkTerms(expiresInDays: days), by: .integration(deputy))
        }
        let short = try release(days: 1), long = try release(days: 30)
        let stray = f.layout.bundles + "/\(String(repeating: "a", count: 32))-\(String(repeating: "b", count: 16)).age"
        let oldAttempt = f.layout.bundles + "/\(long.bundle.id)-\(String(repeating: "c", count: 16)).age"
        let temp = f.layout.bundles + "/\(long.bundle.id)-\(long.bundle.claim!).age.tmp-0011aabbccdd"
        for path in [stray, oldAttempt, temp] { _ = FileManager.default.createFile(atPath: path, contents: Data("x".utf8)) }
        // The crashed release's temp file is old; the vault's clock is the test's.
        var times = [timeval(tv_sec: 1_700_000_000, tv_usec: 0), timeval(tv_sec: 1_700_000_000, tv_usec: 0)]
        XCTAssertEqual(utimes(temp, &times), 0)
        let notOurs = f.layout.bundles + "/README"
        _ = FileManager.default.createFile(atPath: notOurs, contents: Data())
        clock.advance(days: 2)
        XCTAssertEqual(f.vault.bundles.purgeEndedBundleFiles(), 4)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: f.layout.bundles))
        XCTAssertEqual(left, ["\(long.bundle.id)-\(long.bundle.claim!).age", "README"])
        XCTAssertNoThrow(try f.vault.bundles.useBundleLink(token: long.token, by: .linkHolder(source: "test")))
        _ = short
    }

    func testRecordsAreSelectedByChildOrConcernWithItemsOverridingAndOthersLeftOut() throws {
        let first = try text("First note about C1.\n")
        let second = try text("Second note about C1, naming D. Third-Party.\n")
        let third = try text("Third note about C1.\n")
        let otherChild = try text("A note about C2.\n", child: "C2")
        let draft = try f.vault.bundles.createBundle(.init(
            school: "S1", recipient: "Children's Social Care", reason: "Chronology for the conference",
            items: [.init(record: second.id, mode: .redacted, terms: ["D. Third-Party"])], children: ["C1"], leaveOut: [third.id]),
            by: .integration(dsl))
        let (_, items, review) = try f.vault.bundles.bundle(id: draft.id, by: .integration(deputy))
        XCTAssertEqual(items.map(\.record), [second.id, first.id])
        XCTAssertEqual(items.map(\.mode), ["redacted", "as-is"])
        XCTAssertEqual(review?.choices.first?.terms, ["D. Third-Party"])
        XCTAssertFalse(items.contains { $0.record == otherChild.id || $0.record == third.id })
        XCTAssertThrowsError(try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "r", items: [],
                                                           children: ["C1"], leaveOut: [first.id, second.id, third.id]),
                                                      by: .integration(dsl)), "nothing left to share")
        XCTAssertThrowsError(try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "r", items: [],
                                                           children: ["Jane Smith"]), by: .integration(dsl)), "a name is not an id")
        // An original with a redacted copy is never swept in as-is: it must be chosen.
        let pdf = try put("strategy-meeting-minutes.pdf", kind: "minutes")
        _ = try putCopy(try VaultFixture.sampleBytes("strategy-meeting-minutes.pdf"), of: pdf.id)
        XCTAssertThrowsError(try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "r", items: [], children: ["C1"]),
                                                      by: .integration(dsl))) {
            guard case VaultError.invalidArgument(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("has a redacted copy"), why)
        }
        XCTAssertNoThrow(try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "r", items: [], children: ["C1"],
                                                       leaveOut: [pdf.id]), by: .integration(dsl)))
        // A draft left past its lifetime keeps no sealed choices, and cannot be released.
        clock.advance(days: 31)
        f.vault.bundles.purgeEndedBundleFiles()
        XCTAssertNil(try f.vault.catalog.bundle(id: draft.id)?.sealedItems)
        XCTAssertThrowsError(try f.vault.bundles.approveBundle(id: draft.id, by: .integration(deputy))) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("older than 30 days"), why)
        }
    }

    func testAReleaseWhoseClaimWasTakenOverStopsAndLeavesTheNewReleaseIntact() throws {
        let note = try text("A note.\n")
        let draft = try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Children's Social Care", reason: "r",
                                                  items: [.init(record: note.id, mode: .asIs)]), by: .integration(dsl))
        let other = Principal(name: "deputy2", role: .deputy, schools: ["S1"])
        var second: ReleasedBundle?
        Vault.afterBundleItemRead = { [f, clock, other] in
            Vault.afterBundleItemRead = nil
            clock!.advance(days: 1)  // the first release stalls past the claim timeout
            second = try? f!.vault.bundles.approveBundle(id: draft.id, by: .integration(other))
        }
        defer { Vault.afterBundleItemRead = nil }
        XCTAssertThrowsError(try f.vault.bundles.approveBundle(id: draft.id, by: .integration(deputy))) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("taken over"), why)
        }
        let taken = try XCTUnwrap(second)
        XCTAssertEqual(try f.vault.bundles.bundle(id: draft.id, by: .integration(dsl)).0.approvedBy, other.actor.description)
        XCTAssertEqual(try f.sharedFileNames(.bundles), ["\(draft.id)-\(taken.bundle.claim!).age"])
        XCTAssertNoThrow(try f.vault.bundles.useBundleLink(token: taken.token, by: .linkHolder(source: "test")))
    }

    // MARK: office documents

    func putCopy(_ bytes: [UInt8], of original: String, child: String = "C1") throws -> EvidenceRecord {
        var request = PutRequest(school: "S1", child: child, concern: "K1", kind: "minutes", filename: "redacted.pdf")
        request.derivedFrom = original
        let session = try f.vault.records.beginPut(request, by: .integration(dsl))
        try bytes.withUnsafeBytes { try session.write($0) }
        return try session.finish()
    }

    func testAnOfficeDocumentIsSharedRedactedOnlyThroughARedactedPDFCopyWhichIsFlattenedToPixels() throws {
        let letter = try put("tac-meeting-minutes.docx", kind: "minutes")
        let request = BundleRequest(school: "S1", recipient: "Children's Social Care", reason: "Strategy meeting",
                                    items: [.init(record: letter.id, mode: .redacted)])
        XCTAssertThrowsError(try f.vault.bundles.createBundle(request, by: .integration(dsl))) {
            guard case VaultError.invalidArgument(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("derivedFrom=\(letter.id)"), why)
        }
        // A copy must be a PDF of the same child.
        XCTAssertThrowsError(try putCopy(Array("not a pdf\n".utf8), of: letter.id))
        XCTAssertThrowsError(try putCopy(try VaultFixture.sampleBytes("strategy-meeting-minutes.pdf"), of: letter.id, child: "C9"))
        // The DSL's "redacted" PDF still has its text (a box drawn over it, say): it is flattened.
        let copy = try putCopy(try VaultFixture.sampleBytes("strategy-meeting-minutes.pdf"), of: letter.id)
        XCTAssertEqual(copy.derivedFrom, letter.id)

        let draft = try f.vault.bundles.createBundle(request, by: .integration(dsl))
        let folder = try open(try f.vault.bundles.approveBundle(id: draft.id, by: .integration(deputy)))
        let item = try XCTUnwrap((try manifest(folder)["items"] as? [[String: Any]])?.first)
        XCTAssertEqual(item["record"] as? String, letter.id)
        XCTAssertEqual(item["redactedCopy"] as? String, copy.id)
        XCTAssertEqual(item["type"] as? String, "application/pdf")
        XCTAssertEqual(item["originalSHA256"] as? String, letter.sha256)
        let pdf = folder + "/" + (item["path"] as! String)
        XCTAssertEqual(try runTool("pdftotext", [pdf, "-"]).text.trimmingCharacters(in: .whitespacesAndNewlines.union(.init(charactersIn: "\u{0C}"))), "",
                       "the copy's text layer must not survive")
    }
}
