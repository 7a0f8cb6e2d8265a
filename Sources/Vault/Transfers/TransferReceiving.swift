import Foundation
import KeyManagement
import Storage

/// A received transfer as the importing DSL gets it back.
public struct ReceivedTransfer: Sendable {
    public struct Record: Sendable, Equatable {
        public var id: String
        public var originalID: String
        public var sha256: String
    }
    public var incoming: IncomingTransferRow
    public var records: [Record]
    public var receipt: TransferReceipt
    /// Where the sending vault takes the receipt, if it has a public address.
    public var receiptURL: String?
}

/// Receiving a package: verified whole first (`verifyPackage`), then every record is stored as
/// a new record of the receiving school (new keys, retention from the date of birth), with its
/// provenance, holds and put events, in one transaction; then the receipt is signed.
extension Vault {
    func importTransfer(_ package: [UInt8], school: String, child: String?, by caller: Caller) throws -> ReceivedTransfer {
        let principal = try principalOrOperator(.transfer, caller)
        let who = caller.actor
        if let principal { try requireSchool(.transfer, principal, school: school) }
        try vaulting { try OpaqueID.validate(school, field: "school id") }
        if let child { try vaulting { try OpaqueID.validate(child, field: "child id") } }
        let keys = try requireKeys("receiving a transfer")
        var verified: VerifiedPackage
        do {
            verified = try verifyPackage(package, school: school, keys: keys)
        } catch let error as VaultError {
            try audit(AuditEntry(actor: who, action: .transferImport, outcome: .refused, school: school, reason: "\(error)"))
            throw error
        }
        defer { verified.wipe() }
        let manifest = verified.manifest
        let childID = child ?? manifest.child.id
        try vaulting { try OpaqueID.validate(childID, field: "child id") }
        func refuse(_ why: String, _ message: String) throws -> Never {
            try audit(AuditEntry(actor: who, action: .transferImport, outcome: .refused, school: school, child: childID,
                                 reason: "transfer \(manifest.transfer) from school \(manifest.from.school): \(why)"))
            throw VaultError.conflict(message)
        }
        if let earlier = try vaulting({ try catalog.incomingTransfer(manifestSHA256: verified.manifestSHA256) }) {
            try refuse("received before (\(earlier.id)); a replayed package",
                       "this package was received before, on \(Self.day(earlier.receivedAtMillis)); nothing was stored again")
        }
        // Child ids belong to each school: the sender's may already name another child here.
        let known = try vaulting { try catalog.childKnown(school: school, child: childID) }
        if child == nil, known {
            try refuse("the sender's child id is already in use here",
                       "this school already holds a child with the id \(childID): say which child of this school the file belongs to (its id here), and import again")
        }
        // Retention runs from the date of birth: the file's, recorded with the records for a child
        // new to the school. One this school holds already is never changed by a transfer.
        let existingDOB = try vaulting { try catalog.newRecordFacts(school: school, child: childID, concern: "") }.dateOfBirth
        if let dob = manifest.child.dateOfBirth, let existingDOB, existingDOB != dob {
            try refuse("the date of birth in the file differs from this school's",
                       "the child's date of birth in the file differs from the one this school holds: nothing was stored and neither was changed; check with the sending school which is right")
        }
        if let dob = manifest.child.dateOfBirth {
            guard let day = CivilDate(dob), day <= CivilDate(clock()) else {
                throw VaultError.transferRefused("the child's date of birth in the manifest is not a real day in the past")
            }
        }
        let newDOB = known ? nil : manifest.child.dateOfBirth

        let receivedAt = nowMillis
        let incomingID = RecordID.generate()
        var staged: [(record: EvidenceRecord, event: AuditEntry)] = []
        var provenance: [TransferredRecordRow] = []
        var holds: [Hold] = []
        var events: [AuditEntry] = []
        do {
            // Originals before their redacted copies, so each copy links to its original's new id.
            let ordered = verified.records.filter { $0.entry.derivedFrom == nil } + verified.records.filter { $0.entry.derivedFrom != nil }
            var newIDs: [String: String] = [:]
            for (entry, bytes) in ordered {
                var request = PutRequest(school: school, child: childID, concern: Self.transferredConcern(entry.concern, from: manifest.from.school),
                                         kind: entry.kind, filename: entry.filename, declaredType: entry.type)
                request.category = entry.category
                request.provenance = "transferred from school \(manifest.from.school) (record \(entry.record), transfer \(manifest.transfer))"
                request.heldOnArrival = !entry.holds.isEmpty
                request.dateOfBirth = newDOB
                // A copy whose original was shredded at the sender keeps the sender's id of it: it
                // names nothing here, and the copy stays unshareable on its own, as it was there.
                if let original = entry.derivedFrom { request.stagedOriginal = newIDs[original] ?? original }
                let session = try beginPut(request, by: caller)
                do {
                    try bytes.withUnsafeBytes { try session.write($0) }
                    staged.append(try session.stage())
                } catch {
                    session.abort()
                    throw error
                }
                let record = staged[staged.count - 1].record
                newIDs[entry.record] = record.id
                provenance.append(TransferredRecordRow(record: record.id, incoming: incomingID, originalID: entry.record, originalSHA256: entry.sha256,
                                                       recordedAtMillis: verified.storedAtMillis[entry.record] ?? entry.recordedAtMillis,
                                                       recordedBy: entry.recordedBy))
                for held in entry.holds {
                    let reason = String("held at school \(manifest.from.school) when sent (\(held.id), placed by \(held.placedBy)): \(held.reason)".prefix(1000))
                    let hold = Hold(id: "hold-" + Hex.encode(randomPublicBytes(8)), school: school, scope: .record, target: record.id,
                                    reason: reason, placedBy: who.description, placedAtMillis: receivedAt)
                    holds.append(hold)
                    events.append(AuditEntry(actor: who, action: .holdPlace, outcome: .ok, school: school, child: childID, concern: record.concern,
                                             record: record.id, reason: "\(hold.id): record, arrived held in transfer \(manifest.transfer)"))
                }
            }
            let signer = try vaulting { try keys.auditSigner() }
            let receipt = try vaulting {
                try TransferReceipt.sign(transfer: manifest.transfer, fromSchool: manifest.from.school, toSchool: school,
                                         manifestSHA256: verified.manifestSHA256, records: staged.count, receivedAtMillis: receivedAt, signer: signer)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let incoming = IncomingTransferRow(
                id: incomingID, school: school, child: childID, fromSchool: manifest.from.school, fromName: manifest.from.name,
                transfer: manifest.transfer, manifestSHA256: verified.manifestSHA256, sentAtMillis: manifest.sentAtMillis,
                receivedAtMillis: receivedAt, receivedBy: who.description, receipt: Data(try receipt.jsonBytes()),
                shares: try encoder.encode(manifest.shares))
            events = staged.map(\.event) + events + [AuditEntry(
                actor: who, action: .transferImport, outcome: .ok, school: school, child: childID,
                reason: "\(incomingID): transfer \(manifest.transfer) from school \(manifest.from.school) (\(manifest.from.name)), sent \(manifest.sentAt) by \(manifest.approvedBy.actor): \(staged.count) record\(staged.count == 1 ? "" : "s") stored, manifest sha256 \(verified.manifestSHA256), receipt signed")]
            if newDOB != nil {
                events.insert(AuditEntry(actor: who, action: .setDOB, outcome: .ok, school: school, child: childID,
                                         reason: "from transfer \(manifest.transfer) of school \(manifest.from.school)"), at: 0)
            }
            let received = TransferImport(incoming: incoming, records: staged.map(\.record), provenance: provenance, holds: holds, events: events,
                                          dateOfBirth: newDOB)
            do {
                try timedAudit { try vaulting { try catalog.commitImport(received, signer: signer) } }
            } catch VaultError.storage(.lifecycleConflict) {
                try audit(AuditEntry(actor: who, action: .transferImport, outcome: .refused, school: school, child: childID,
                                     reason: "transfer \(manifest.transfer) from school \(manifest.from.school) was received before; a replayed package"))
                throw VaultError.conflict("this package was received before; nothing was stored again")
            }
            setTransferredLabels(manifest, school: school, child: childID, by: caller)
            let records = zip(staged, provenance).map { ReceivedTransfer.Record(id: $0.record.id, originalID: $1.originalID, sha256: $0.record.sha256) }
            return ReceivedTransfer(incoming: incoming, records: records, receipt: receipt, receiptURL: manifest.receiptURL)
        } catch {
            // Kept when the database stopped answering mid-commit: the import may have committed.
            if !VaultError.mayHaveCommitted(error) { for item in staged { try? blobs.delete(recordID: item.record.id) } }
            if case VaultError.conflict = error { throw error }
            _ = try? audit(AuditEntry(actor: who, action: .transferImport, outcome: .failed, school: school, child: childID,
                                      reason: "transfer \(manifest.transfer) from school \(manifest.from.school): nothing stored: \(VaultError.wrap(error))"))
            throw error
        }
    }

    /// A concern id of the sending school, in a namespace of its own here: concern ids belong to
    /// each school, so the sender's `K1` must not join this school's `K1`. `SENDER-CONCERN`, or a
    /// hash of both when that would be longer than an id may be.
    static func transferredConcern(_ concern: String, from school: String) -> String {
        let joined = "\(school)-\(concern)"
        if OpaqueID.isValid(joined) { return joined }
        return "t" + Hex.encode(Array(SHA256Hasher.hash(Array("\(school)/\(concern)".utf8)).prefix(16)))
    }

    /// The child's label and the concerns' titles from the file, where this school has none yet.
    private func setTransferredLabels(_ manifest: TransferManifest, school: String, child: String, by caller: Caller) {
        func unlabelled(_ kind: SubjectLabel.Kind, _ subject: String) -> Bool {
            do { return try catalog.label(school: school, kind: kind, subject: subject) == nil } catch { return false }
        }
        if let label = manifest.child.label, unlabelled(.child, child) {
            try? setLabel(.child, subject: child, school: school, text: label, by: caller)
        }
        var done = Set<String>()
        for entry in manifest.records where done.insert(entry.concern).inserted {
            let concern = Self.transferredConcern(entry.concern, from: manifest.from.school)
            if let title = entry.concernTitle, unlabelled(.concern, concern) {
                try? setLabel(.concern, subject: concern, school: school, text: title, by: caller)
            }
        }
    }

    /// Marks the receipt delivered to the sender (it answered 200).
    func noteReceiptDelivered(incoming: String) throws {
        try vaulting { try catalog.markReceiptDelivered(incoming: incoming, atMillis: nowMillis) }
    }
}
