import Foundation
import KeyManagement
import Storage

/// A sent transfer's state as people see it: `overdue` once five school days pass without a
/// verified receipt (`SchoolDays`), which the waiting counts raise as a content-free alert.
public struct TransferStatus: Sendable, Equatable {
    public enum State: String, Sendable { case draft, sent, received, overdue }
    public var transfer: TransferRow
    public var state: State
    /// When a receipt is due: five school days after sending.
    public var receiptDueMillis: Int64?
    /// The receiving school's name in the sender's directory.
    public var toName: String?

    static func of(_ row: TransferRow, nowMillis: Int64, toName: String?) -> TransferStatus {
        let due = row.sentAtMillis.map { Int64(SchoolDays.adding(Vault.transferReceiptSchoolDays, to: Date(timeIntervalSince1970: Double($0) / 1000)).timeIntervalSince1970 * 1000) }
        let state: State
        switch row.state {
        case .draft, .sending: state = .draft
        case .received: state = .received
        case .sent: state = (due.map { nowMillis >= $0 } ?? false) ? .overdue : .sent
        }
        return TransferStatus(transfer: row, state: state, receiptDueMillis: due, toName: toName)
    }
}

extension Vault {
    /// KCSIE: the file goes to the new school within five school days.
    public static let transferReceiptSchoolDays = 5

    func transferStatus(id: String, by caller: Caller) throws -> TransferStatus {
        let principal = try principalOrOperator(.transfer, caller)
        let row = try visibleTransfer(id, principal: principal, action: .transferShow)
        try audit(AuditEntry(actor: caller.actor, action: .transferShow, outcome: .ok, school: row.school, child: row.child, reason: row.id))
        let name = try vaulting { try catalog.pinnedSchool(owner: row.school, school: row.toSchool) }?.name
        return .of(row, nowMillis: nowMillis, toName: name)
    }

    /// A school's transfers, sent and received (of one child, if given), newest first.
    func transfers(school: String, child: String?, by caller: Caller) throws -> (sent: [TransferStatus], received: [IncomingTransferRow]) {
        if let principal = try principalOrOperator(.transfer, caller) {
            try requireSchool(.transfer, principal, school: school)
        } else {
            try vaulting { try OpaqueID.validate(school, field: "school id") }
        }
        if let child { try vaulting { try OpaqueID.validate(child, field: "child id") } }
        try audit(AuditEntry(actor: caller.actor, action: .transferList, outcome: .ok, school: school, child: child))
        let names = Dictionary(try vaulting { try catalog.pinnedSchools(owner: school) }.map { ($0.school, $0.name) }, uniquingKeysWith: { a, _ in a })
        let now = nowMillis
        let sent = try vaulting { try catalog.transfers(school: school, child: child) }.map { TransferStatus.of($0, nowMillis: now, toName: names[$0.toSchool]) }
        let received = try vaulting { try catalog.incomingTransfers(school: school, child: child) }
        return (sent, received)
    }

    /// One received transfer with where each record came from.
    func incomingTransfer(id: String, by caller: Caller) throws -> (IncomingTransferRow, [TransferredRecordRow]) {
        let principal = try principalOrOperator(.transfer, caller)
        guard RecordID.isValid(id), let row = try vaulting({ try catalog.incomingTransfer(id: id) }),
              principal.map({ $0.schools.contains(row.school) }) ?? true else {
            if let principal { try deny(principal, .transfer, reason: "no such received transfer in the user's schools") }
            throw VaultError.notFound("received transfer")
        }
        if let principal { try requireSchool(.transfer, principal, school: row.school) }
        try audit(AuditEntry(actor: caller.actor, action: .transferShow, outcome: .ok, school: row.school, child: row.child, reason: row.id))
        return (row, try vaulting { try catalog.transferredRecords(incoming: row.id) })
    }

    /// How many of the principal's schools' transfers wait: drafts someone else made, and sent
    /// ones past their receipt date.
    func transfersWaiting(for principal: Principal) throws -> (toApprove: Int, overdue: Int) {
        guard AccessPolicy.grant(principal.role, .transfer) != .denied else { return (0, 0) }
        var toApprove = 0, overdue = 0
        let now = nowMillis
        for row in try vaulting({ try catalog.waitingTransfers(schools: principal.schools.sorted()) }) {
            if row.state == .draft, row.createdBy != principal.actor.description, row.createdAccount != principal.account,
               now - row.createdAtMillis <= Int64(Self.transferDraftLifetimeDays) * 86_400_000 {
                toApprove += 1
            } else if row.state == .sent, TransferStatus.of(row, nowMillis: now, toName: nil).state == .overdue {
                overdue += 1
            }
        }
        return (toApprove, overdue)
    }

    /// Sets what the school does with its copies once a receipt arrives (a DSL, or the operator).
    func setAfterReceiptRule(school: String, rule: AfterReceiptRule, by caller: Caller) throws {
        let keys = try requireKeys("setting the transfer rule")
        if let principal = try principalOrOperator(.transfer, caller) {
            try requireSchool(.transfer, principal, school: school)
            guard principal.role == .dsl else {
                try deny(principal, .transfer, school: school, reason: "only a DSL sets what happens to copies after a transfer")
                throw VaultError.forbidden("only the DSL sets what happens to the school's copies after a transfer")
            }
            try requireRecentFactor(caller, for: "changing the transfer rule")
        } else {
            try vaulting { try OpaqueID.validate(school, field: "school id") }
        }
        try vaulting {
            try catalog.setAfterReceiptRule(school: school, rule, event: AuditEntry(
                actor: caller.actor, action: .transferRule, outcome: .ok, school: school, reason: "after a receipt: \(rule.rawValue)"),
                signer: try keys.auditSigner())
        }
    }

    func afterReceiptRule(school: String, by caller: Caller) throws -> AfterReceiptRule {
        if let principal = try principalOrOperator(.transfer, caller) { try requireSchool(.transfer, principal, school: school) }
        return try vaulting { try catalog.afterReceiptRule(school: school) }
    }

    /// The package behind a transfer link, for whoever holds it (the receiving vault): counted,
    /// audited (actor `link:TRANSFER`), refused once expired, used up or received; opened, with
    /// where it is kept.
    func openTransferPackage(token: String, by caller: Caller) throws -> (TransferRow, String, any SharedFileReader) {
        let source = caller.linkSource
        guard token.count == 43, token.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), token.allSatisfy(\.isASCII) else {
            if let source { try recordAnonymousRefusal(.malformedTransferLink, from: source) }
            throw VaultError.linkUnusable("this transfer link is not valid")
        }
        let signer = try? requireKeys("a transfer link").auditSigner()
        let use = try vaulting {
            try catalog.useTransferLink(hash: Data(SHA256Hasher.hash(Array(token.utf8))), maxDownloads: Self.transferLinkDownloads,
                                        nowMillis: nowMillis, event: { use in
                switch use {
                case .unknown: return source == nil ? AuditEntry(actor: .anonymous, action: .transferDownload, outcome: .denied, reason: "unknown link") : nil
                case .allowed(let row):
                    return AuditEntry(actor: .link(bundle: row.id), action: .transferDownload, outcome: .ok, school: row.school, child: row.child,
                                      reason: "\(row.id): package fetched (\(row.linkDownloads) of \(Self.transferLinkDownloads))")
                case .expired(let row):
                    return AuditEntry(actor: .link(bundle: row.id), action: .transferDownload, outcome: .denied, school: row.school, reason: "\(row.id): link expired")
                case .usedUp(let row):
                    return AuditEntry(actor: .link(bundle: row.id), action: .transferDownload, outcome: .denied, school: row.school, reason: "\(row.id): link used up")
                }
            }, signer: signer)
        }
        switch use {
        case .unknown:
            if let source { try recordAnonymousRefusal(.unknownTransferLink, from: source) }
            throw VaultError.linkUnusable("this transfer link does not exist")
        case .expired: throw VaultError.linkUnusable("this transfer link has expired; the sending school can send the package again")
        case .usedUp: throw VaultError.linkUnusable("this transfer link was used \(Self.transferLinkDownloads) times and no longer works")
        case .allowed(let row):
            guard row.state == .sent else { throw VaultError.linkUnusable("the transfer was received already; its package is gone") }
            let name = try transferFile(row.id, claim: row.claim)
            return (row, sharedFiles.location(.transfers, name: name), try openPackage(name))
        }
    }

    /// A sent transfer's package, for the operator to send another way (`transfer export`).
    func openTransferPackage(id: String, by caller: Caller) throws -> any SharedFileReader {
        try requireOperator(caller, .transferDownload)
        guard let row = try vaulting({ try catalog.transfer(id: RecordID.isValid(id) ? id : "") }), row.state == .sent else {
            throw VaultError.notFound("sent transfer \(LogText.escape(String(id.prefix(64))))")
        }
        let package = try openPackage(try transferFile(row.id, claim: row.claim))
        do {
            try audit(AuditEntry(actor: caller.actor, action: .transferDownload, outcome: .ok, school: row.school, child: row.child,
                                 reason: "\(row.id): package exported at the command line"))
        } catch {
            package.close()
            throw error
        }
        return package
    }

    /// A package just sent, for its approver to send another way too (`transfer approve -o`):
    /// only the approval's own result names it, so no further check or event is needed.
    func openTransferPackage(_ sent: SentTransfer) throws -> any SharedFileReader {
        try openPackage(sent.packageName)
    }

    /// A package opened for reading, or `linkUnusable` when it is no longer kept.
    private func openPackage(_ name: String) throws -> any SharedFileReader {
        guard let package = try vaulting({ try sharedFiles.open(.transfers, name: name) }) else {
            throw VaultError.linkUnusable("the transfer's package is no longer kept")
        }
        return package
    }
}
