import Foundation
import KeyManagement
import Storage

extension Vault {
    /// School-to-school transfers of a child's file (docs/transfers.md): this vault's card, the
    /// directory of other schools, drafts, a second person's approval that sends the package,
    /// receiving one, and receipts.
    public var transfers: Transfers { Transfers(vault: self) }

    /// School-to-school transfers of a child's file (docs/transfers.md).
    public struct Transfers: Sendable {
        let vault: Vault

        /// This vault's card for `school` (nil: the only school it names). Public keys only: no caller.
        public func card(school: String?) throws -> SchoolCard {
            try vault.transferCard(school: school)
        }

        /// Names a school on its card (the operator), audited; returns the card.
        public func nameSchool(_ school: String, name: String, by caller: Caller) throws -> SchoolCard {
            try vault.nameTransferSchool(school: school, name: name, by: caller)
        }

        /// Pins another school's card in `owner`'s directory once the fingerprint read out by its
        /// DSL matches. A changed card for a pinned school needs `replace` (a DSL), else 409.
        public func trust(owner: String, card: SchoolCard, fingerprint: String, replace: Bool = false, by caller: Caller) throws -> PinnedSchool {
            try vault.trustSchool(owner: owner, card: card, fingerprint: fingerprint, replace: replace, by: caller)
        }

        /// `owner`'s directory of schools, after an audit event.
        public func directory(owner: String, by caller: Caller) throws -> [PinnedSchool] {
            try vault.pinnedSchools(owner: owner, by: caller)
        }

        /// Drafts the transfer of every record of `child` to a school in the directory.
        public func create(school: String, child: String, toSchool: String, reason: String, by caller: Caller) throws -> TransferRow {
            try vault.createTransfer(school: school, child: child, toSchool: toSchool, reason: reason, by: caller)
        }

        /// A second DSL or deputy approves a draft: the package is made, encrypted to the receiving
        /// school and kept for its link. `receiptURL` is where the receiving vault posts its receipt.
        public func approve(id: String, receiptURL: String?, by caller: Caller) throws -> SentTransfer {
            try vault.approveTransfer(id: id, receiptURL: receiptURL, by: caller)
        }

        /// One transfer and its state (overdue after five school days without a receipt).
        public func status(id: String, by caller: Caller) throws -> TransferStatus {
            try vault.transferStatus(id: id, by: caller)
        }

        /// A school's transfers sent and received (of one child, if given).
        public func list(school: String, child: String? = nil, by caller: Caller) throws -> (sent: [TransferStatus], received: [IncomingTransferRow]) {
            try vault.transfers(school: school, child: child, by: caller)
        }

        /// One received transfer, with where each record came from.
        public func received(id: String, by caller: Caller) throws -> (IncomingTransferRow, [TransferredRecordRow]) {
            try vault.incomingTransfer(id: id, by: caller)
        }

        /// Verifies a package whole and stores its records under `school` (as `child`, default the
        /// sender's id), or refuses all of it naming the check that failed.
        public func receive(_ package: [UInt8], school: String, child: String? = nil, by caller: Caller) throws -> ReceivedTransfer {
            try vault.importTransfer(package, school: school, child: child, by: caller)
        }

        /// The receiving vault answered the sender: its receipt reached it.
        public func noteReceiptDelivered(incoming: String) throws {
            try vault.noteReceiptDelivered(incoming: incoming)
        }

        /// The sender accepts a receipt: signed by the receiving school's pinned key, over the
        /// manifest it sent. No token is needed: a link holder or the operator calls it.
        public func acceptReceipt(_ receipt: TransferReceipt, by caller: Caller) throws -> TransferRow {
            try vault.acceptTransferReceipt(receipt, by: caller)
        }

        /// The package behind a link (the receiving vault fetches it), opened for reading: counted
        /// and audited as one use of the link.
        public func openPackage(token: String, by caller: Caller) throws -> (TransferRow, any SharedFileReader) {
            let (row, _, package) = try vault.openTransferPackage(token: token, by: caller)
            return (row, package)
        }

        /// The same use of a link, giving where the package is kept (`SentTransfer.packagePath`)
        /// rather than the open package.
        public func package(token: String, by caller: Caller) throws -> (TransferRow, String) {
            let (row, location, package) = try vault.openTransferPackage(token: token, by: caller)
            package.close()
            return (row, location)
        }

        /// A sent transfer's package, for the operator to send another way.
        public func openPackage(id: String, by caller: Caller) throws -> any SharedFileReader {
            try vault.openTransferPackage(id: id, by: caller)
        }

        /// The package a just-approved transfer sent, for its approver to send another way too.
        public func openPackage(_ sent: SentTransfer) throws -> any SharedFileReader {
            try vault.openTransferPackage(sent)
        }

        public func afterReceiptRule(school: String, by caller: Caller) throws -> AfterReceiptRule {
            try vault.afterReceiptRule(school: school, by: caller)
        }

        /// Sets what the school does with its copies once a receipt arrives (a DSL).
        public func setAfterReceiptRule(school: String, rule: AfterReceiptRule, by caller: Caller) throws {
            try vault.setAfterReceiptRule(school: school, rule: rule, by: caller)
        }
    }
}
