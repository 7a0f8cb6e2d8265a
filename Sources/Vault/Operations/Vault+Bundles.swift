import Foundation
import Redaction
import KeyManagement
import SignIn
import Storage

extension Vault {
    /// Sharing with agencies: the school's directory of recipients, bundle drafts, a second DSL's release, links and receipts.
    public var bundles: Bundles { Bundles(vault: self) }

    /// Sharing with agencies: the school's directory of recipients, bundle drafts, a second DSL's release, links and receipts.
    public struct Bundles: Sendable {
        let vault: Vault

        /// Adds a recipient; `by` nil is the operator at the CLI. Refuses a malformed name, school or
        /// age recipient, both or neither kind, and a name the school already uses (409).
        public func addRecipient(_ new: NewRecipient, by caller: Caller) throws -> Recipient {
            try vault.addRecipient(new, by: caller)
        }

        /// A school's recipients, after an audit event.
        public func recipients(school: String, by caller: Caller) throws -> [Recipient] {
            try vault.recipients(school: school, by: caller)
        }

        /// Stores a draft after checking everything that can be checked without reading content:
        /// role and school, the recipient, each record (live, of this school) and each item's mode
        /// against its type. `by` nil is the operator at the CLI acting as `actor`.
        public func createBundle(_ request: BundleRequest, by caller: Caller) throws -> BundleRow {
            try vault.createBundle(request, by: caller)
        }

        /// One bundle and its items, after an audit event. A draft also comes with what its
        /// approver must see before releasing it: the choices (rectangles, terms, confirmations,
        /// pinned copies) and the recipient as the directory holds it (its key and who added it).
        public func bundle(id: String, by caller: Caller) throws -> (BundleRow, [BundleItemRow], BundleReview?) {
            try vault.bundle(id: id, by: caller)
        }

        /// A school's bundles, newest first, after an audit event.
        public func list(school: String, by caller: Caller) throws -> [BundleRow] {
            try vault.bundles(school: school, by: caller)
        }

        /// A second DSL or deputy sends a draft back to its creator with a comment instead of
        /// releasing it; the creator cannot. It is never released after that.
        public func returnBundle(id: String, comment: String, by caller: Caller) throws -> BundleRow {
            try vault.returnBundle(id: id, comment: comment, by: caller)
        }

        /// Item `position` (from 1) of a draft as the release will make it, page `page`, drawn
        /// by the bundle's own code (audited as a `view` of the record).
        public func itemPreview(id: String, position: Int, page: Int, by caller: Caller) throws -> RecordPreview {
            try vault.bundleItemPreview(id: id, position: position, page: page, by: caller)
        }

        /// A record as `choice` would put it in a bundle (rectangles filled, terms replaced),
        /// page `page`, drawn by the bundle's own code; refused as the draft would be.
        public func redactionPreview(record id: String, choice: BundleItemRequest, page: Int, by caller: Caller) throws -> RecordPreview {
            try vault.redactionPreview(id: id, choice: choice, page: page, by: caller)
        }

        /// How often each term occurs in a text record, and the text in runs to show them, by the
        /// redactor's matcher: a term found nowhere shows before the draft is saved.
        public func termMatches(record id: String, terms: [String], by caller: Caller) throws -> TextMatches {
            try vault.termMatches(id: id, terms: terms, by: caller)
        }

        public func approveBundle(id: String, link: LinkTerms = LinkTerms(), by caller: Caller, redactor: Redactor = Redactor()) throws -> ReleasedBundle {
            try vault.approveBundle(id: id, link: link, by: caller, redactor: redactor)
        }

        /// A DSL or deputy (or the operator, `by` nil) copies a released bundle's `.age` file out, to
        /// hand over by other means. The file is as encrypted as the download.
        public func exportBundle(id: String, to path: String, by caller: Caller) throws -> BundleRow {
            try vault.exportBundle(id: id, to: path, by: caller)
        }

        /// Revokes a released bundle's link and removes its file.
        public func revokeBundleLink(id: String, by caller: Caller) throws {
            try vault.revokeBundleLink(id: id, by: caller)
        }

        /// Counts one use of the link and returns the file to send. An unknown token is `notFound`;
        /// an expired, revoked or used-up link is `linkUnusable` (and its file is removed). With a
        /// link holder's source (the server), an unknown or malformed token is audited coalesced per source
        /// (`recordAnonymousRefusal`) instead of one event each.
        public func useBundleLink(token: String, by caller: Caller) throws -> BundleDownload {
            try vault.useBundleLink(token: token, by: caller)
        }

        /// The recipient confirms receipt; the first confirmation is kept, each is audited (an
        /// unknown one coalesced per source, for a link holder, as in `useBundleLink`).
        @discardableResult
        public func confirmBundleReceipt(token: String, by caller: Caller) throws -> BundleRow {
            try vault.confirmBundleReceipt(token: token, by: caller)
        }

        /// Records that an allowed download of a bundle did not deliver it whole (the file ended
        /// early, the connection broke): the log must not show only the allowed use.
        public func recordBundleDownloadFailure(_ download: BundleDownload, reason: String)  {
            vault.recordBundleDownloadFailure(download, reason: reason)
        }

        /// Removes a released bundle's encrypted files (its link ended). Best effort.
        public func discardBundleFiles(_ id: String)  {
            vault.discardBundleFiles(id)
        }

        /// Forgets expired drafts' sealed choices, and deletes the bundle files no link may serve any more: links expired or revoked, bundles
        /// that do not exist (a restored store), and what failed or crashed releases left (a file
        /// not of the bundle's current claim, a claim older than the claim timeout, an old `.tmp-*`
        /// file). A used-up link's file is left to the download that used it up (or to its expiry),
        /// so a sweep cannot pull it from under that download. Returns how many were removed.
        /// Runs when a bundle is approved, when the service starts, and in `gc`.
        @discardableResult
        public func purgeEndedBundleFiles() -> Int {
            vault.purgeEndedBundleFiles()
        }
    }
}
