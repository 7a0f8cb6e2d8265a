import Foundation
import KeyManagement
import Storage

/// The receiving vault's signed word that a package arrived whole (docs/transfers.md): its
/// Ed25519 signature over the package's manifest hash, the transfer, both schools, how many
/// records it stored and when.
public struct TransferReceipt: Sendable, Equatable, Codable {
    public static let formatName = "strongroom-transfer-receipt"
    public static let label = "strongroom/v1/transfer-receipt"
    public var format: String = TransferReceipt.formatName
    public var version: Int = 1
    public var transfer: String
    public var fromSchool: String
    public var toSchool: String
    public var manifestSHA256: String
    public var records: Int
    public var receivedAtMillis: Int64
    public var keyID: String
    public var signature: String

    static func message(transfer: String, fromSchool: String, toSchool: String, manifestSHA256: String, records: Int, receivedAtMillis: Int64) -> [UInt8] {
        var b = Binding(label: label)
        for value in [transfer, fromSchool, toSchool, manifestSHA256] { b.append(value) }
        b.append(UInt64(records))
        b.append(UInt64(bitPattern: receivedAtMillis))
        return b.bytes
    }

    static func sign(transfer: String, fromSchool: String, toSchool: String, manifestSHA256: String, records: Int, receivedAtMillis: Int64,
                     signer: AuditSigner) throws -> TransferReceipt {
        let signature = try signer.sign(message(transfer: transfer, fromSchool: fromSchool, toSchool: toSchool, manifestSHA256: manifestSHA256,
                                                records: records, receivedAtMillis: receivedAtMillis))
        return TransferReceipt(transfer: transfer, fromSchool: fromSchool, toSchool: toSchool, manifestSHA256: manifestSHA256, records: records,
                               receivedAtMillis: receivedAtMillis, keyID: Hex.encode(signer.publicKey.keyID),
                               signature: Data(signature).base64EncodedString())
    }

    public func verify(publicKey: VaultPublicKey) -> Bool {
        guard format == Self.formatName, version == 1, let signature = Data(base64Encoded: signature) else { return false }
        return publicKey.verify(signature: Array(signature), message: Self.message(
            transfer: transfer, fromSchool: fromSchool, toSchool: toSchool, manifestSHA256: manifestSHA256, records: records,
            receivedAtMillis: receivedAtMillis))
    }

    public func jsonBytes() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(self)) + [0x0a]
    }

    public static func parse(_ bytes: [UInt8]) throws -> TransferReceipt {
        guard bytes.count <= 16 * 1024, let receipt = try? JSONDecoder().decode(TransferReceipt.self, from: Data(bytes)),
              receipt.format == formatName, receipt.records >= 0, receipt.receivedAtMillis >= 0 else {
            throw VaultError.invalidArgument("not a transfer receipt: expected the JSON a receiving Strongroom signs")
        }
        return receipt
    }
}

/// The sending side of a receipt: verified against the receiving school's pinned key, it marks
/// the transfer received and applies the school's rule for its own copies.
extension Vault {
    /// Accepts a receipt (no token: it is signed). Refuses one for no transfer of this vault, one
    /// not signed by the receiving school's pinned key, or one over another manifest.
    func acceptTransferReceipt(_ receipt: TransferReceipt, by caller: Caller) throws -> TransferRow {
        let keys = try requireKeys("accepting a transfer receipt")
        let who = caller.actor
        guard RecordID.isValid(receipt.transfer), let row = try vaulting({ try catalog.transfer(id: receipt.transfer) }),
              row.school == receipt.fromSchool, row.toSchool == receipt.toSchool else {
            if let source = caller.linkSource {
                try recordAnonymousRefusal(.unknownTransferReceipt, from: source)
            } else {
                try audit(AuditEntry(actor: who, action: .transferReceipt, outcome: .denied, reason: "a receipt for no transfer of this vault"))
            }
            throw VaultError.notFound("transfer")
        }
        func refuse(_ why: String) throws -> Never {
            // Over HTTP anyone may post a receipt: refusals are counted per source, not an event each.
            if let source = caller.linkSource {
                try recordAnonymousRefusal(.unverifiedTransferReceipt, from: source)
            } else {
                try audit(AuditEntry(actor: who, action: .transferReceipt, outcome: .refused, school: row.school, child: row.child,
                                     reason: "\(row.id): \(why)"))
            }
            throw VaultError.transferRefused(why)
        }
        guard let pinned = try verifiedPin(owner: row.school, school: row.toSchool), let key = VaultPublicKey(text: pinned.signingKey) else {
            try refuse("school \(row.toSchool) is no longer in the directory, so its receipt cannot be checked")
        }
        guard receipt.verify(publicKey: key) else {
            try refuse("the receipt is not signed by school \(row.toSchool)'s pinned key")
        }
        guard receipt.manifestSHA256 == row.manifestSHA256, receipt.records == row.recordCount else {
            try refuse("the receipt is for another package than the one sent (manifest or record count differs)")
        }
        if row.state == .received { return row }
        guard row.state == .sent else { try refuse("the transfer was not sent yet") }
        let bytes = try receipt.jsonBytes()
        let signer = try vaulting { try keys.auditSigner() }
        let after = try afterReceipt(row, receivedAtMillis: receipt.receivedAtMillis)
        let event = AuditEntry(actor: who, action: .transferReceipt, outcome: .ok, school: row.school, child: row.child,
                               reason: "\(row.id): school \(row.toSchool) signed for \(receipt.records) record\(receipt.records == 1 ? "" : "s") received \(BundleArchive.iso(receipt.receivedAtMillis)); \(after.text)")
        let shred = after.request.map { request in
            (request, AuditEntry(actor: AuditActor.system, action: .shredRequest, outcome: .ok, school: row.school,
                                 reason: "\(request.id): \(request.records.count) records, drafted on behalf of \(request.requestedBy) after transfer \(row.id) was received"))
        }
        let changed = try vaulting {
            try catalog.recordTransferReceipt(id: row.id, receipt: Data(bytes), atMillis: nowMillis, afterReceipt: after.text, events: [event],
                                              shred: shred, signer: signer)
        }
        // Another request with the same receipt got there first: it did everything once.
        guard changed else { return try vaulting { try catalog.transfer(id: row.id) } ?? row }
        purgeEndedTransferFiles()
        var received = row
        received.state = .received
        received.receipt = Data(bytes)
        received.receiptAtMillis = nowMillis
        received.afterReceipt = after.text
        return received
    }

    /// What the school's rule does with its copies: a shred request drafted in the name of the
    /// transfer's approver (a DSL or deputy, so a DPO approves it), or nothing.
    private func afterReceipt(_ row: TransferRow, receivedAtMillis: Int64) throws -> (text: String, request: ShredRequest?) {
        let rule = try vaulting { try catalog.afterReceiptRule(school: row.school) }
        guard rule == .draftShred else { return ("the school keeps its copies until their normal review", nil) }
        let ids = try vaulting { try catalog.transferRecords(id: row.id) }
        let holds = try activeHolds(school: row.school)
        let live = try liveRecords(ids: ids).filter { r in !holds.contains { $0.covers(r) } }
        let held = ids.count - live.count
        guard !live.isEmpty else { return ("no shred request was drafted: every copy is held or already gone", nil) }
        guard let account = row.approvedAccount,
              let approver = try vaulting({ try catalog.users() }).first(where: { $0.id == account }), !approver.isRevoked,
              approver.role == Role.dsl.rawValue || approver.role == Role.deputy.rawValue, approver.schools.contains(row.school) else {
            return ("no shred request was drafted: the transfer's approver no longer holds a DSL or deputy role here; ask for one by hand", nil)
        }
        let request = ShredRequest(
            id: "shred-" + Hex.encode(randomPublicBytes(8)), school: row.school, records: live.map(\.id).prefix(ShredPolicy.maxRecords).map { $0 },
            reason: "the child's file was transferred to school \(row.toSchool) (transfer \(row.id)) and its receipt verified",
            requestedBy: row.approvedBy ?? approver.name, requestedRole: approver.role, requestedAtMillis: nowMillis, requestedAccount: account)
        let heldNote = held > 0 ? " (\(held) held or gone, left out)" : ""
        return ("shred request \(request.id) drafted for \(request.records.count) cop\(request.records.count == 1 ? "y" : "ies")\(heldNote), waiting for a DPO", request)
    }
}
