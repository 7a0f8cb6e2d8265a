import Foundation
import KeyManagement
import Storage
import TestSupport
import XCTest
@testable import Vault

/// A child's file going from one school's vault to another's: two stores in one test, the
/// package opened with stock age and checked with stock minisign, and every tampering refused.
final class TransferTests: XCTestCase {
    var clock: TestClock!
    var sender: VaultFixture!
    var receiver: VaultFixture!
    var work: String!
    var dsl: Principal!, deputy: Principal!, dpo: Principal!, receivingDSL: Principal!, receivingDeputy: Principal!
    var senderCard: SchoolCard!, receiverCard: SchoolCard!

    override func setUpWithError() throws {
        clock = TestClock("2026-11-02")
        var options = Vault.Options()
        let c = clock!
        options.clock = { c.read() }
        sender = try VaultFixture(options: options)
        receiver = try VaultFixture(options: options)
        work = sender.root + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        dsl = try sender.signIn("dsl1", .dsl, schools: ["100001"])
        deputy = try sender.signIn("deputy1", .deputy, schools: ["100001"])
        dpo = try sender.signIn("dpo1", .dpo, schools: ["100001"])
        receivingDSL = try receiver.signIn("rdsl", .dsl, schools: ["200002"])
        receivingDeputy = try receiver.signIn("rdeputy", .deputy, schools: ["200002"])
        senderCard = try sender.vault.transfers.nameSchool("100001", name: "Oakfield Primary School", by: .operator("test"))
        receiverCard = try receiver.vault.transfers.nameSchool("200002", name: "Riverside Academy", by: .operator("test"))
        // Each DSL pins the other's card after hearing its fingerprint by telephone.
        _ = try sender.vault.transfers.trust(owner: "100001", card: receiverCard, fingerprint: receiverCard.fingerprint, by: .integration(dsl))
        _ = try receiver.vault.transfers.trust(owner: "200002", card: senderCard, fingerprint: senderCard.fingerprint, by: .integration(receivingDSL))
    }

    // MARK: helpers

    /// Five records of child C1: a body map, a PDF, a Word document, a disclosure and a photo, the last held.
    @discardableResult
    func fileOfFive() throws -> [EvidenceRecord] {
        let records = [
            try sender.put(try VaultFixture.sampleBytes("body-map-front.png"), kind: "body-map", filename: "front.png", school: "100001"),
            try sender.put(try VaultFixture.sampleBytes("strategy-meeting-minutes.pdf"), kind: "minutes", filename: "strategy.pdf", school: "100001"),
            try sender.put(try VaultFixture.sampleBytes("tac-meeting-minutes.docx"), kind: "minutes", filename: "tac.docx", school: "100001", concern: "K2"),
            try sender.put(try VaultFixture.sampleBytes("disclosure-note.txt"), kind: "disclosure", filename: "note.txt", school: "100001"),
            try sender.put(try VaultFixture.sampleBytes("injury-photo-with-gps.jpg"), kind: "body-map", filename: "arm.jpg", school: "100001", concern: "K2"),
        ]
        _ = try sender.vault.lifecycle.setDateOfBirth(child: "C1", dob: "2016-05-04", school: "100001", by: .integration(dsl))
        _ = try sender.vault.lifecycle.placeHold(school: "100001", scope: .record, target: records[4].id, reason: "police investigation",
                                                 by: .integration(dsl))
        try sender.vault.records.setChildLabel(child: "C1", school: "100001", label: "Sam Example", by: .integration(dsl))
        return records
    }

    func sendFile() throws -> SentTransfer {
        let draft = try sender.vault.transfers.create(school: "100001", child: "C1", toSchool: "200002", reason: "joined Riverside on 2 November",
                                                      by: .integration(dsl))
        return try sender.vault.transfers.approve(id: draft.id, receiptURL: nil, by: .integration(deputy))
    }

    func package(_ sent: SentTransfer) throws -> [UInt8] { try XCTUnwrap(try sender.sharedFile(.transfers, sent.packagePath)) }

    func receive(_ bytes: [UInt8], into fixture: VaultFixture? = nil, school: String = "200002") throws -> ReceivedTransfer {
        try (fixture ?? receiver).vault.transfers.receive(bytes, school: school, by: .integration(receivingDSL))
    }

    /// The package's files, changed by `change`, zipped and encrypted again to the receiver.
    func tampered(_ bytes: [UInt8], _ change: (inout [String: [UInt8]]) throws -> Void) throws -> [UInt8] {
        let keys = try XCTUnwrap(receiver.vault.keyStore)
        var files = try receiver.vault.unzipPackage(try receiver.vault.decryptPackage(bytes, keys: keys))
        try change(&files)
        let writer = try TransferPackage.zip(transferID: String(repeating: "0", count: 32), sentAtMillis: 0)
        for (path, content) in files.sorted(by: { $0.key < $1.key }) { try writer.add(path, content, deflate: false) }
        return try AgeEncryptor.encrypt(Array(try writer.finish()), to: [try AgeRecipient.parse(receiverCard.ageRecipient)])
    }

    func refusal(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            try body()
            XCTFail("not refused", file: file, line: line)
            return ""
        } catch VaultError.transferRefused(let why) {
            return why
        } catch {
            XCTFail("refused with \(error)", file: file, line: line)
            return ""
        }
    }

    func json(_ bytes: [UInt8]) throws -> [String: Any] { try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]) }

    func receivedRecordCount() throws -> Int {
        try receiver.vault.records.list(RecordFilter(school: "200002"), by: .operator("test")).count
    }

    // MARK: the whole journey

    func testAFileOfFiveTravelsWholeIsReadBackByteForByteAndTheReceiptMarksItReceived() throws {
        let originals = try fileOfFive()
        let sent = try sendFile()
        XCTAssertEqual(sent.transfer.state, .sent)
        XCTAssertEqual(try sender.vault.transfers.status(id: sent.transfer.id, by: .integration(dsl)).state, .sent)

        let received = try receive(try package(sent))
        XCTAssertEqual(received.records.count, 5)
        XCTAssertEqual(Set(received.records.map(\.originalID)), Set(originals.map(\.id)))
        for arrived in received.records {
            let same = try receiver.get(arrived.id, by: .integration(receivingDSL)) == (try sender.get(arrived.originalID))
            XCTAssertTrue(same, "record \(arrived.originalID) did not arrive byte for byte")
        }
        // The hold travelled with its record, the date of birth set retention, the label came along.
        let holds = try receiver.vault.lifecycle.holds(school: "200002", by: .integration(receivingDSL))
        XCTAssertEqual(holds.map(\.target), received.records.filter { $0.originalID == originals[4].id }.map(\.id))
        XCTAssertTrue(holds[0].reason.contains("police investigation"))
        let stored = try receiver.vault.records.list(RecordFilter(school: "200002"), by: .operator("test"))
        XCTAssertTrue(stored.allSatisfy { $0.child == "C1" })
        XCTAssertEqual(Set(stored.map(\.reviewOn)).count >= 1, true)
        XCTAssertEqual(try receiver.vault.records.childLabel(child: "C1", school: "200002", by: .integration(receivingDSL)), "Sam Example")
        let (incoming, provenance) = try receiver.vault.transfers.received(id: received.incoming.id, by: .integration(receivingDSL))
        XCTAssertEqual(incoming.fromSchool, "100001")
        XCTAssertEqual(Set(provenance.map(\.originalID)), Set(originals.map(\.id)))

        // The receipt, signed by the receiver, marks the transfer received and drafts the shred.
        let done = try sender.vault.transfers.acceptReceipt(received.receipt, by: .linkHolder(source: "127.0.0.1"))
        XCTAssertEqual(done.state, .received)
        XCTAssertEqual(try sender.vault.transfers.status(id: sent.transfer.id, by: .integration(dsl)).state, .received)
        let requests = try sender.vault.lifecycle.shredRequests(school: "100001", by: .integration(dpo))
        XCTAssertEqual(requests.count, 1)
        XCTAssertEqual(Set(requests[0].request.records), Set(originals.prefix(4).map(\.id)), "the held copy is left out")
        XCTAssertEqual(requests[0].request.requestedBy, deputy.actor.description)
        // It still needs a DPO: the approver cannot approve the shred drafted in their name.
        XCTAssertThrowsError(try sender.vault.lifecycle.approveShred(id: requests[0].request.id, by: .integration(deputy)))
        _ = try sender.vault.lifecycle.approveShred(id: requests[0].request.id, by: .integration(dpo))

        // Both logs tell the story, and both still verify.
        let sentEvents = try sender.events.map(\.action)
        for action in ["transfer-create", "transfer-approve", "transfer-send", "transfer-receipt"] { XCTAssertTrue(sentEvents.contains(action), action) }
        let receivedEvents = try receiver.events
        XCTAssertEqual(receivedEvents.filter { $0.action == "transfer-import" && $0.outcome == "ok" }.count, 1)
        XCTAssertEqual(receivedEvents.filter { $0.action == "put" && ($0.reason ?? "").contains("transferred from school 100001") }.count, 5)
        XCTAssertTrue(try sender.vault.audit.verifyLog(by: .operator("test")).isIntact)
        XCTAssertTrue(try receiver.vault.audit.verifyLog(by: .operator("test")).isIntact)
    }

    func testThePackageOpensWithStockAgeAndItsManifestVerifiesWithStockMinisign() throws {
        let originals = try fileOfFive()
        let sent = try sendFile()
        let key = try receiver.vault.keyStore!.transferKey()
        let identity = try AgeIdentity(secretKey: key.secret)
        let identityFile = work + "/riverside.key"
        try identity.keygenFileTextForInterop().write(toFile: identityFile, atomically: true, encoding: .utf8)
        let run = try StockAge.decrypt(file: try sender.localCopy(.transfers, sent.packagePath), identity: identityFile)
        XCTAssertEqual(run.status, 0, run.stderr)
        let zipFile = work + "/package.zip"
        try run.stdout.write(to: URL(fileURLWithPath: zipFile))
        let unzip = try unzipWithPython(zipFile, into: work + "/package")
        XCTAssertEqual(unzip.status, 0, unzip.stderr)
        let folder = work + "/package/transfer-\(sent.transfer.id.prefix(8))"
        let minisign = try runTool("/usr/bin/minisign", ["-Vm", folder + "/manifest.json", "-P", senderCard.signingKey])
        XCTAssertEqual(minisign.status, 0, minisign.stderr)
        XCTAssertTrue(minisign.text.contains("Signature and comment signature verified"), minisign.text)
        let manifest = try json(Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json"))))
        let records = try XCTUnwrap(manifest["records"] as? [[String: Any]])
        XCTAssertEqual(records.count, 5)
        let byID = Dictionary(uniqueKeysWithValues: originals.map { ($0.id, $0) })
        for entry in records {
            let original = try XCTUnwrap(byID[entry["record"] as? String ?? ""])
            let bytes = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + (entry["path"] as! String)))
            XCTAssertEqual(Hex.encode(SHA256Hasher.hash(Array(bytes))), original.sha256)
            XCTAssertEqual(entry["sha256"] as? String, original.sha256)
            XCTAssertEqual((entry["holds"] as? [[String: Any]])?.count, original.id == originals[4].id ? 1 : 0)
        }
        XCTAssertEqual((manifest["child"] as? [String: Any])?["dateOfBirth"] as? String, "2016-05-04")
    }

    // MARK: who may

    func testATransferIsApprovedByASecondPersonAndOnlyToASchoolInTheDirectory() throws {
        try fileOfFive()
        let draft = try sender.vault.transfers.create(school: "100001", child: "C1", toSchool: "200002", reason: "moved", by: .integration(dsl))
        XCTAssertThrowsError(try sender.vault.transfers.approve(id: draft.id, receiptURL: nil, by: .integration(dsl))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try sender.events.filter { $0.action == "transfer-approve" && $0.outcome == "denied" }.count, 1)
        XCTAssertThrowsError(try sender.vault.transfers.create(school: "100001", child: "C1", toSchool: "300003", reason: "moved", by: .integration(dsl))) {
            XCTAssertTrue("\($0)".contains("not in your directory"), "\($0)")
        }
        let staff = try sender.signIn("staff1", .staff, schools: ["100001"])
        XCTAssertThrowsError(try sender.vault.transfers.create(school: "100001", child: "C1", toSchool: "200002", reason: "moved", by: .integration(staff)))
        XCTAssertThrowsError(try sender.vault.transfers.approve(id: draft.id, receiptURL: nil, by: .integration(dpo)))
        XCTAssertThrowsError(try sender.vault.transfers.create(school: "100001", child: "C9", toSchool: "200002", reason: "moved", by: .integration(dsl)))
    }

    func testAFingerprintThatDoesNotMatchIsRefusedAndAChangedCardNeedsTheDSLsExplicitAcceptance() throws {
        let impostor = try VaultFixture()
        let fake = try impostor.vault.transfers.nameSchool("200002", name: "Riverside Academy", by: .operator("test"))
        // The fingerprint read out is the real school's: the impostor's card does not match it.
        XCTAssertThrowsError(try sender.vault.transfers.trust(owner: "100001", card: fake, fingerprint: receiverCard.fingerprint, replace: true,
                                                              by: .integration(dsl))) {
            XCTAssertTrue("\($0)".contains("does not match"), "\($0)")
        }
        // A card edited in transit no longer matches its own fingerprint.
        var edited = receiverCard!
        edited.ageRecipient = fake.ageRecipient
        XCTAssertThrowsError(try sender.vault.transfers.trust(owner: "100001", card: edited, fingerprint: edited.fingerprint, by: .integration(dsl)))
        // A new card for a pinned school, even with its own fingerprint read out, waits for a DSL.
        XCTAssertThrowsError(try sender.vault.transfers.trust(owner: "100001", card: fake, fingerprint: fake.fingerprint, by: .integration(dsl))) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("accept the new card explicitly"), why)
        }
        XCTAssertThrowsError(try sender.vault.transfers.trust(owner: "100001", card: fake, fingerprint: fake.fingerprint, replace: true,
                                                              by: .integration(deputy))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        // Nor does a bare token, even the DSL's: a changed key is accepted signed in, with a second factor.
        XCTAssertThrowsError(try sender.vault.transfers.trust(owner: "100001", card: fake, fingerprint: fake.fingerprint, replace: true,
                                                              by: .integration(dsl))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try sender.vault.transfers.directory(owner: "100001", by: .integration(dsl)).first?.fingerprint, receiverCard.fingerprint)
        let signedIn = Caller.person(dsl, session: SessionFacts(handle: "0123456789abcdef", factorAt: clock.read()))
        _ = try sender.vault.transfers.trust(owner: "100001", card: fake, fingerprint: fake.fingerprint, replace: true, by: signedIn)
        XCTAssertEqual(try sender.vault.transfers.directory(owner: "100001", by: .integration(dsl)).first?.fingerprint, fake.fingerprint)
        XCTAssertTrue(try sender.events.contains { $0.action == "school-trust" && ($0.reason ?? "").contains("replaced the card") })
    }

    func testADirectoryRowChangedInTheDatabaseIsNotUsed() throws {
        try fileOfFive()
        let other = try VaultFixture()
        let card = try other.vault.transfers.nameSchool("200002", name: "Riverside Academy", by: .operator("test"))
        try sender.tamper("UPDATE school_directory SET age_recipient = ?", [card.ageRecipient])
        XCTAssertThrowsError(try sender.vault.transfers.create(school: "100001", child: "C1", toSchool: "200002", reason: "moved", by: .integration(dsl))) {
            XCTAssertTrue("\($0)".contains("changed outside Strongroom"), "\($0)")
        }
    }

    // MARK: what the receiver refuses

    func testAPackageForAnotherSchoolOrFromAnUnknownSchoolIsRefusedAndNothingIsStored() throws {
        try fileOfFive()
        let bytes = try package(try sendFile())
        let third = try VaultFixture()
        let thirdDSL = try third.signIn("tdsl", .dsl, schools: ["200002"])
        _ = try third.vault.transfers.nameSchool("200002", name: "Riverside Academy", by: .operator("test"))
        XCTAssertTrue(refusal { _ = try third.vault.transfers.receive(bytes, school: "200002", by: .integration(thirdDSL)) }
            .contains("not encrypted to this vault's transfer key"))
        // The right vault, but the sender is not in this school's directory.
        try receiver.tamper("DELETE FROM school_directory")
        XCTAssertTrue(refusal { _ = try receive(bytes) }.contains("is not in your directory of schools"))
        XCTAssertTrue(refusal { _ = try receive(Array("hello".utf8)) }.contains("not age-encrypted"))
        XCTAssertEqual(try receivedRecordCount(), 0)
        XCTAssertEqual(try receiver.events.filter { $0.action == "transfer-import" && $0.outcome == "refused" }.count, 2)
    }

    func testAPackageSignedWithAKeyOtherThanThePinnedOneIsRefused() throws {
        // A vault claiming to be Oakfield, with its own keys, sends to Riverside.
        let impostor = try VaultFixture(options: { var o = Vault.Options(); let c = clock!; o.clock = { c.read() }; return o }())
        let iDSL = try impostor.signIn("idsl", .dsl, schools: ["100001"]), iDeputy = try impostor.signIn("idep", .deputy, schools: ["100001"])
        _ = try impostor.vault.transfers.nameSchool("100001", name: "Oakfield Primary School", by: .operator("test"))
        _ = try impostor.vault.transfers.trust(owner: "100001", card: receiverCard, fingerprint: receiverCard.fingerprint, by: .integration(iDSL))
        try impostor.put(Array("a made-up note".utf8), kind: "disclosure", filename: "n.txt", school: "100001")
        let draft = try impostor.vault.transfers.create(school: "100001", child: "C1", toSchool: "200002", reason: "moved", by: .integration(iDSL))
        let sent = try impostor.vault.transfers.approve(id: draft.id, receiptURL: nil, by: .integration(iDeputy))
        let why = refusal { _ = try receive(try XCTUnwrap(try impostor.sharedFile(.transfers, sent.packagePath))) }
        XCTAssertTrue(why.contains("differs from school 100001's pinned card"), why)
        XCTAssertEqual(try receivedRecordCount(), 0)
    }

    func testATamperedRecordManifestEventProofOrCheckpointIsRefusedNamingWhat() throws {
        try fileOfFive()
        let bytes = try package(try sendFile())
        let firstRecord = { (files: [String: [UInt8]]) in files.keys.sorted().first { $0.hasPrefix("records/") }! }

        var why = refusal { _ = try receive(try tampered(bytes) { files in
            let path = firstRecord(files)
            files[path]![files[path]!.count / 2] ^= 0x01
        }) }
        XCTAssertTrue(why.contains("does not match its SHA-256"), why)

        why = refusal { _ = try receive(try tampered(bytes) { files in
            let text = String(decoding: files["manifest.json"]!, as: UTF8.self).replacingOccurrences(of: "joined Riverside", with: "joined Elsewhere")
            files["manifest.json"] = Array(text.utf8)
        }) }
        XCTAssertTrue(why.contains("manifest's signature does not verify"), why)

        why = refusal { _ = try receive(try tampered(bytes) { files in
            var proofs = try JSONDecoder().decode(TransferProofs.self, from: Data(files["audit/proofs.json"]!))
            var hex = Array(proofs.records[0].inclusionProof[0])
            hex[0] = hex[0] == "0" ? "1" : "0"
            proofs.records[0].inclusionProof[0] = String(hex)
            files["audit/proofs.json"] = try proofs.bytes()
        }) }
        XCTAssertTrue(why.contains("inclusion proof does not lead"), why)

        why = refusal { _ = try receive(try tampered(bytes) { files in
            var proofs = try JSONDecoder().decode(TransferProofs.self, from: Data(files["audit/proofs.json"]!))
            proofs.records[1].event.reason = (proofs.records[1].event.reason ?? "") + " (edited)"
            files["audit/proofs.json"] = try proofs.bytes()
        }) }
        XCTAssertTrue(why.contains("put event was changed"), why)

        why = refusal { _ = try receive(try tampered(bytes) { files in
            var checkpoint = Checkpoint.parse(files["audit/checkpoint.json"]!)!
            checkpoint.treeSize += 1
            files["audit/checkpoint.json"] = try checkpoint.fileBytes()
        }) }
        XCTAssertTrue(why.contains("checkpoint"), why)

        why = refusal { _ = try receive(try tampered(bytes) { files in files["records/999-extra.bin"] = [1, 2, 3] }) }
        XCTAssertTrue(why.contains("does not list"), why)

        var damaged = bytes
        damaged[damaged.count - 10] ^= 0x40
        why = refusal { _ = try receive(damaged) }
        XCTAssertTrue(why.contains("damaged or was changed"), why)

        XCTAssertEqual(try receivedRecordCount(), 0)
        XCTAssertEqual(try receiver.events.filter { $0.action == "put" && $0.outcome == "ok" }.count, 0)
        // The untouched package is still received afterwards.
        XCTAssertEqual(try receive(bytes).records.count, 5)
    }

    func testAPackageReplayedASecondTimeIsRefusedAndAudited() throws {
        try fileOfFive()
        let bytes = try package(try sendFile())
        _ = try receive(bytes)
        XCTAssertThrowsError(try receive(bytes)) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("received before"), why)
        }
        XCTAssertEqual(try receivedRecordCount(), 5)
        XCTAssertTrue(try receiver.events.contains { $0.action == "transfer-import" && $0.outcome == "refused" && ($0.reason ?? "").contains("replayed") })
    }

    func testAReceiptSignedByTheWrongKeyOrForAnotherPackageIsRefused() throws {
        try fileOfFive()
        let sent = try sendFile()
        let received = try receive(try package(sent))
        let stranger = try VaultFixture()
        let wrongSigner = try stranger.vault.keyStore!.auditSigner()
        let forged = try TransferReceipt.sign(transfer: received.receipt.transfer, fromSchool: "100001", toSchool: "200002",
                                              manifestSHA256: received.receipt.manifestSHA256, records: 5,
                                              receivedAtMillis: received.receipt.receivedAtMillis, signer: wrongSigner)
        XCTAssertTrue(refusal { _ = try sender.vault.transfers.acceptReceipt(forged, by: .linkHolder(source: "10.0.0.9")) }
            .contains("not signed by school 200002's pinned key"))
        let receiverSigner = try receiver.vault.keyStore!.auditSigner()
        let otherManifest = try TransferReceipt.sign(transfer: received.receipt.transfer, fromSchool: "100001", toSchool: "200002",
                                                     manifestSHA256: String(repeating: "ab", count: 32), records: 5,
                                                     receivedAtMillis: received.receipt.receivedAtMillis, signer: receiverSigner)
        XCTAssertTrue(refusal { _ = try sender.vault.transfers.acceptReceipt(otherManifest, by: .operator("test")) }
            .contains("another package"))
        // A negative count never reaches the arithmetic: the file is refused as not a receipt.
        var negative = try json(try forged.jsonBytes())
        negative["records"] = -1
        XCTAssertThrowsError(try TransferReceipt.parse(Array(try JSONSerialization.data(withJSONObject: negative))))
        XCTAssertEqual(try sender.vault.transfers.status(id: sent.transfer.id, by: .integration(dsl)).state, .sent)
        // The operator's refusal is an event; anonymous ones over HTTP are counted per source.
        XCTAssertEqual(try sender.events.filter { $0.action == "transfer-receipt" && $0.outcome == "refused" }.count, 1)
        XCTAssertEqual(try sender.events.filter { $0.action == "transfer-receipt" && $0.outcome == "denied" && $0.actor == "anonymous" }.count, 1)
        // The genuine receipt, posted twice, marks it received and drafts one shred request.
        _ = try sender.vault.transfers.acceptReceipt(received.receipt, by: .linkHolder(source: "10.0.0.9"))
        _ = try sender.vault.transfers.acceptReceipt(received.receipt, by: .linkHolder(source: "10.0.0.9"))
        XCTAssertEqual(try sender.vault.lifecycle.shredRequests(school: "100001", by: .integration(dpo)).count, 1)
        XCTAssertEqual(try sender.events.filter { $0.action == "transfer-receipt" && $0.outcome == "ok" }.count, 1)
    }

    func testATransferWithoutAReceiptFiveSchoolDaysLaterIsOverdueAndWaitsForTheDSLs() throws {
        try fileOfFive()
        clock.set("2026-12-18")  // a Friday: five school days later is after the Christmas bank holidays
        let sent = try sendFile()
        clock.set("2026-12-28")
        XCTAssertEqual(try sender.vault.transfers.status(id: sent.transfer.id, by: .integration(dsl)).state, .sent)
        clock.set("2026-12-30")
        XCTAssertEqual(try sender.vault.transfers.status(id: sent.transfer.id, by: .integration(dsl)).state, .overdue)
        XCTAssertEqual(try sender.vault.people.waiting(by: .integration(dsl)).transfersOverdue, 1)
        XCTAssertEqual(try sender.vault.people.waiting(by: .integration(dpo)).transfersOverdue, 0)
        // The rule can keep the copies instead of drafting a shred.
        try sender.vault.transfers.setAfterReceiptRule(school: "100001", rule: .keep, by: .integration(dsl))
        let received = try receive(try package(sent))
        let done = try sender.vault.transfers.acceptReceipt(received.receipt, by: .linkHolder(source: "127.0.0.1"))
        XCTAssertEqual(done.state, .received)
        XCTAssertEqual(try sender.vault.lifecycle.shredRequests(school: "100001", by: .integration(dpo)).count, 0)
        XCTAssertEqual(try sender.vault.people.waiting(by: .integration(dsl)).transfersOverdue, 0)
    }

    func testTheLinkServesThePackageAFewTimesAndIsAuditedEachTime() throws {
        try fileOfFive()
        let sent = try sendFile()
        for _ in 0..<Vault.transferLinkDownloads {
            let (row, path) = try sender.vault.transfers.package(token: sent.token, by: .linkHolder(source: "127.0.0.1"))
            XCTAssertEqual(row.id, sent.transfer.id)
            XCTAssertEqual(path, sent.packagePath)
        }
        XCTAssertThrowsError(try sender.vault.transfers.package(token: sent.token, by: .linkHolder(source: "127.0.0.1"))) {
            guard case VaultError.linkUnusable = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try sender.events.filter { $0.action == "transfer-download" && $0.outcome == "ok" }.count, Vault.transferLinkDownloads)
    }

    func testAChildIdAlreadyInUseHereIsNeverJoinedWithoutBeingNamedAndConcernsStayApart() throws {
        try fileOfFive()
        // Riverside already has its own child C1, with its own concern K1 and date of birth.
        let local = try receiver.put(Array("Riverside's own note".utf8), kind: "disclosure", filename: "own.txt", school: "200002")
        _ = try receiver.vault.lifecycle.setDateOfBirth(child: "C1", dob: "2015-01-01", school: "200002", by: .integration(receivingDSL))
        let bytes = try package(try sendFile())
        XCTAssertThrowsError(try receive(bytes)) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("already holds a child with the id C1"), why)
        }
        // Named as C1 here on purpose, the differing date of birth still stops it, changing neither.
        XCTAssertThrowsError(try receiver.vault.transfers.receive(bytes, school: "200002", child: "C1", by: .integration(receivingDSL))) {
            XCTAssertTrue("\($0)".contains("neither was changed"), "\($0)")
        }
        XCTAssertEqual(try receivedRecordCount(), 1)
        // Filed under a new id, it arrives; the sender's concerns do not join Riverside's K1.
        let received = try receiver.vault.transfers.receive(bytes, school: "200002", child: "R77", by: .integration(receivingDSL))
        let stored = try receiver.vault.records.list(RecordFilter(school: "200002", child: "R77"), by: .operator("test"))
        XCTAssertEqual(stored.count, received.records.count)
        XCTAssertTrue(stored.allSatisfy { $0.concern.hasPrefix("100001-") }, "\(stored.map(\.concern))")
        XCTAssertEqual(try receiver.vault.records.list(RecordFilter(school: "200002", concern: "K1"), by: .operator("test")).map(\.id), [local.id])
        // The new child's date of birth came with the records, in the same transaction.
        XCTAssertTrue(try receiver.events.contains { $0.action == "set-dob" && $0.child == "R77" })
    }

    func testARedactedCopyArrivesLinkedToItsOriginalSoItIsNeverSharedAsIs() throws {
        try fileOfFive()
        let original = try sender.put(try VaultFixture.sampleBytes("tac-meeting-minutes.docx"), kind: "minutes", filename: "tac2.docx", school: "100001")
        let file = try fd(of: VaultFixture.sample("strategy-meeting-minutes.pdf").path)
        defer { close(file) }
        let copy = try sender.vault.records.put(from: file, {
            var request = PutRequest(school: "100001", child: "C1", concern: "K1", kind: "minutes", filename: "tac2-redacted.pdf")
            request.derivedFrom = original.id
            return request
        }(), by: .integration(dsl))
        let received = try receive(try package(try sendFile()))
        let arrivedCopy = try XCTUnwrap(received.records.first { $0.originalID == copy.id })
        let arrivedOriginal = try XCTUnwrap(received.records.first { $0.originalID == original.id })
        let row = try XCTUnwrap(receiver.vault.catalog.records(ids: [arrivedCopy.id]).first)
        XCTAssertEqual(row.derivedFrom, arrivedOriginal.id)

        // A copy whose original was shredded at the sender still travels, still unshareable alone.
        let request = try sender.vault.lifecycle.requestShred(school: "100001", records: [original.id], reason: "duplicate", by: .integration(dsl))
        _ = try sender.vault.lifecycle.approveShred(id: request.id, by: .integration(dpo))
        let other = try VaultFixture()
        let otherDSL = try other.signIn("odsl", .dsl, schools: ["300003"])
        let otherCard = try other.vault.transfers.nameSchool("300003", name: "Hillside School", by: .operator("test"))
        _ = try other.vault.transfers.trust(owner: "300003", card: senderCard, fingerprint: senderCard.fingerprint, by: .integration(otherDSL))
        _ = try sender.vault.transfers.trust(owner: "100001", card: otherCard, fingerprint: otherCard.fingerprint, by: .integration(dsl))
        let draft = try sender.vault.transfers.create(school: "100001", child: "C1", toSchool: "300003", reason: "moved again", by: .integration(dsl))
        let sent = try sender.vault.transfers.approve(id: draft.id, receiptURL: nil, by: .integration(deputy))
        let again = try other.vault.transfers.receive(try package(sent), school: "300003", by: .integration(otherDSL))
        let orphan = try XCTUnwrap(again.records.first { $0.originalID == copy.id })
        XCTAssertEqual(try XCTUnwrap(other.vault.catalog.records(ids: [orphan.id]).first).derivedFrom, original.id)
    }

    func testADraftIsNotSentToACardThatChangedAfterItWasDrafted() throws {
        try fileOfFive()
        let draft = try sender.vault.transfers.create(school: "100001", child: "C1", toSchool: "200002", reason: "moved", by: .integration(dsl))
        let other = try VaultFixture()
        let changed = try other.vault.transfers.nameSchool("200002", name: "Riverside Academy", by: .operator("test"))
        let signedIn = Caller.person(dsl, session: SessionFacts(handle: "0123456789abcdef", factorAt: clock.read()))
        _ = try sender.vault.transfers.trust(owner: "100001", card: changed, fingerprint: changed.fingerprint, replace: true, by: signedIn)
        XCTAssertThrowsError(try sender.vault.transfers.approve(id: draft.id, receiptURL: nil, by: .integration(deputy))) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("card changed after this transfer was drafted"), why)
        }
    }

    func fd(of path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw VaultError.notFound(path) }
        return fd
    }
}
