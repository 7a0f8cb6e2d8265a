import Foundation
import KeyManagement
import Storage

/// A released bundle reaches its recipient through a link: the token is the only credential, it
/// lasts a set number of days and downloads, and the school can revoke it. Every use, refused
/// or not, is an audit event committed before any byte is sent; so is the recipient's receipt.
extension Vault {
    /// An opened bundle file for one allowed download. In the store folder the file is open: a
    /// sweep or another download removing its name meanwhile does not take it from this one.
    public struct BundleDownload: @unchecked Sendable {
        public var bundle: BundleRow
        /// Where the file is kept: its path in the store folder, or its object's `s3://` address.
        public var path: String
        public var size: Int64
        /// The link is used up by this download: call `discardBundleFiles` when it is sent.
        public var last: Bool
        public var file: any SharedFileReader
    }

    func recordBundleDownloadFailure(_ download: BundleDownload, reason: String) {
        _ = try? audit(AuditEntry(actor: .link(bundle: download.bundle.id), action: .bundleDownload, outcome: .failed,
                                  school: download.bundle.school, reason: "\(download.bundle.id): \(reason)"))
    }

    func useBundleLink(token: String, by caller: Caller) throws -> BundleDownload {
        let source = caller.linkSource
        let hash = try linkHash(token, refusal: .malformedLink, from: source)
        let now = nowMillis
        let use = try vaulting {
            try catalog.useLink(hash: hash, nowMillis: now, event: { use in
                switch use {
                case .allowed(let row, let last):
                    AuditEntry(actor: .link(bundle: row.id), action: .bundleDownload, outcome: .ok, school: row.school,
                               reason: "\(row.id): download \(row.linkDownloads)\(row.linkMaxDownloads.map { " of \($0)" } ?? "")\(last ? ", the last" : "") by \(row.recipient)")
                case .unknown:
                    source == nil ? AuditEntry(actor: .anonymous, action: .bundleDownload, outcome: .denied, reason: "unknown link") : nil
                case .revoked(let row):
                    AuditEntry(actor: .link(bundle: row.id), action: .bundleDownload, outcome: .denied, school: row.school, reason: "\(row.id): link revoked")
                case .expired(let row):
                    AuditEntry(actor: .link(bundle: row.id), action: .bundleDownload, outcome: .denied, school: row.school, reason: "\(row.id): link expired")
                case .usedUp(let row):
                    AuditEntry(actor: .link(bundle: row.id), action: .bundleDownload, outcome: .denied, school: row.school, reason: "\(row.id): link used up")
                }
            }, signer: signer)
        }
        switch use {
        case .allowed(let row, let last):
            // Opened here, and its size taken from the open file: whatever happens to the name
            // afterwards, this download has the file. Any failure follows the counted use in
            // the log with a failure saying nothing was sent.
            func unusable() throws -> Never {
                try audit(AuditEntry(actor: .link(bundle: row.id), action: .bundleDownload, outcome: .failed, school: row.school,
                                     reason: "\(row.id): the bundle's file is missing or changed; nothing was sent"))
                throw VaultError.linkUnusable("the bundle's file is no longer held here (a restored store?); ask the school to release it again")
            }
            guard let name = try? bundleFile(row.id, claim: row.claim), let file = try? sharedFiles.open(.bundles, name: name) else { try unusable() }
            guard file.size == row.archiveSize else {
                file.close()
                try unusable()
            }
            return BundleDownload(bundle: row, path: sharedFiles.location(.bundles, name: name), size: file.size, last: last, file: file)
        case .unknown:
            if let source { try recordAnonymousRefusal(.unknownLink, from: source) }
            throw VaultError.notFound("(no such link)")
        case .revoked(let row):
            discardBundleFiles(row.id)
            throw VaultError.linkUnusable("this link was revoked by the school")
        case .expired(let row):
            discardBundleFiles(row.id)
            throw VaultError.linkUnusable("this link expired on \(BundleArchive.iso(row.linkExpiresMillis ?? 0))")
        case .usedUp(let row):
            discardBundleFiles(row.id)
            throw VaultError.linkUnusable("this link has been used its \(row.linkMaxDownloads ?? 0) time\(row.linkMaxDownloads == 1 ? "" : "s")")
        }
    }

    @discardableResult
    func purgeEndedBundleFiles() -> Int {
        // Expired drafts keep no sealed choices (their terms name third parties).
        _ = try? catalog.forgetDraftChoices(createdBefore: nowMillis - Int64(Self.draftLifetimeDays) * 86_400_000)
        guard let files = try? sharedFiles.list(.bundles) else { return 0 }
        let now = nowMillis
        var removed = 0
        func remove(_ name: String) { if (try? sharedFiles.delete(.bundles, name: name)) != nil { removed += 1 } }
        for file in files {
            let name = file.name
            let ageMillis = now - Int64(file.modified.timeIntervalSince1970) * 1000
            let id = String(name.prefix(32))
            let claim = name.count == 53 ? String(name.dropFirst(33).prefix(16)) : ""
            let ended: Bool
            if name.contains(".tmp-") {
                ended = ageMillis > BundleRow.claimTimeoutMillis
            } else if name.hasSuffix(".age"), name.count == 53, RecordID.isValid(id), name.dropFirst(32).first == "-" {
                let found: BundleRow?
                do { found = try catalog.bundle(id: id) } catch { continue }  // a database error: keep it
                guard let row = found else {
                    remove(name)  // no such bundle (a restored store)
                    continue
                }
                switch row.state {
                case _ where row.claim != claim: ended = true
                case .draft, .returned: ended = true
                case .releasing: ended = (row.claimedAtMillis ?? 0) < now - BundleRow.claimTimeoutMillis
                case .released: ended = row.linkRevokedMillis != nil || (row.linkExpiresMillis.map { now >= $0 } ?? false)
                }
            } else {
                continue  // not ours: left alone
            }
            if ended { remove(name) }
        }
        return removed
    }

    func discardBundleFiles(_ id: String) {
        guard RecordID.isValid(id), let files = try? sharedFiles.list(.bundles) else { return }
        for file in files where file.name.hasPrefix(id + "-") && file.name.hasSuffix(".age") {
            try? sharedFiles.delete(.bundles, name: file.name)
        }
    }

    @discardableResult
    func confirmBundleReceipt(token: String, by caller: Caller) throws -> BundleRow {
        let source = caller.linkSource
        let hash = try linkHash(token, refusal: .malformedReceiptLink, from: source)
        let row = try vaulting {
            try catalog.confirmReceipt(hash: hash, nowMillis: nowMillis, event: { row in
                AuditEntry(actor: .link(bundle: row.id), action: .bundleReceipt, outcome: .ok, school: row.school,
                           reason: "\(row.id): receipt confirmed for \(row.recipient)")
            }, signer: signer)
        }
        guard let row else {
            if let source {
                try recordAnonymousRefusal(.unknownReceiptLink, from: source)
            } else {
                try audit(AuditEntry(actor: .anonymous, action: .bundleReceipt, outcome: .denied, reason: "unknown link"))
            }
            throw VaultError.notFound("(no such link)")
        }
        return row
    }

    func revokeBundleLink(id: String, by caller: Caller) throws {
        let principal = try principalOrOperator(.share, caller)
        let who = caller.actor
        let bundle = try visibleBundle(id, principal: principal, action: .bundleRevoke)
        if let principal { try requireSchool(.share, principal, school: bundle.school) }
        do {
            try vaulting {
                try catalog.revokeLink(id: id, nowMillis: nowMillis, event: AuditEntry(
                    actor: who, action: .bundleRevoke, outcome: .ok, school: bundle.school, reason: "\(id): link to \(bundle.recipient) revoked"),
                    signer: signer)
            }
        } catch VaultError.storage(.lifecycleConflict(let why)) {
            throw VaultError.conflict(why)
        }
        discardBundleFiles(id)
    }

    /// A shred reaches shared bundles too: every live link to a bundle holding a shredded record
    /// is revoked and its file deleted (the recipient keeps what it already downloaded). Idempotent.
    func revokeLinks(holding records: [String], actor: AuditActor, reason: String) throws {
        for bundle in try vaulting({ try catalog.liveBundles(holding: records) }) {
            do {
                try vaulting {
                    try catalog.revokeLink(id: bundle.id, nowMillis: nowMillis, event: AuditEntry(
                        actor: actor, action: .bundleRevoke, outcome: .ok, school: bundle.school,
                        reason: "\(bundle.id): link to \(bundle.recipient) revoked: \(reason)"), signer: signer)
                }
            } catch VaultError.storage(.lifecycleConflict) {}
            discardBundleFiles(bundle.id)
        }
    }

    func exportBundle(id: String, to path: String, by caller: Caller) throws -> BundleRow {
        let principal = try principalOrOperator(.share, caller)
        let actor = caller.actor
        try requireRecentFactor(caller, for: "exporting a bundle")
        let bundle = try visibleBundle(id, principal: principal, action: .bundleExport)
        guard bundle.state == .released else { throw VaultError.conflict("the bundle \(id) is a draft: it needs a second DSL or deputy's approval") }
        guard bundle.linkRevokedMillis == nil else { throw VaultError.conflict("the bundle \(id) was revoked") }
        guard let input = try vaulting({ try sharedFiles.open(.bundles, name: try bundleFile(id, claim: bundle.claim)) }) else {
            throw VaultError.linkUnusable("the bundle's file is no longer held here (its link ended, or the store was restored)")
        }
        defer { input.close() }
        // A new file only: anything at `path` (a symlink, a FIFO, a file) is refused before the export is audited.
        let output = try vaulting { try OutputFile(path, mode: 0o600, replacing: false) }
        defer { output.discard() }
        try audit(AuditEntry(actor: actor, action: .bundleExport, outcome: .ok, school: bundle.school,
                             reason: "\(id): encrypted bundle for \(bundle.recipient) exported to a file"))
        // Streamed (a bundle may be a gigabyte) and checked against the release's SHA-256 before
        // it is linked into place, only if nothing is there.
        try vaulting {
            var hasher = SHA256Hasher()
            var size: Int64 = 0
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                try chunk.withUnsafeBytes { hasher.update($0); try output.write($0) }
                size += Int64(chunk.count)
            }
            guard size == bundle.archiveSize, Hex.encode(hasher.finalize()) == bundle.archiveSHA256 else {
                throw VaultError.linkUnusable("the bundle's file does not match its release (damaged); ask for it to be released again")
            }
            try output.commit()
        }
        return bundle
    }

    func bundles(school: String, by caller: Caller) throws -> [BundleRow] {
        let principal = try principalOrOperator(.share, caller)
        let actor = caller.actor
        if let principal { try requireSchool(.share, principal, school: school) }
        try vaulting { try OpaqueID.validate(school, field: "school id") }
        let rows = try vaulting { try catalog.bundles(school: school) }
        try audit(AuditEntry(actor: actor, action: .bundleList, outcome: .ok, school: school, reason: "\(rows.count) bundles"))
        return rows
    }

    func bundle(id: String, by caller: Caller) throws -> (BundleRow, [BundleItemRow], BundleReview?) {
        let principal = try principalOrOperator(.share, caller)
        let actor = caller.actor
        let row = try visibleBundle(id, principal: principal, action: .bundleShow)
        var review: BundleReview?
        if row.state != .released, row.sealedItems != nil, let keys = keyStore {
            let recipient = try vaulting { try catalog.recipients(school: row.school) }.first { $0.name == row.recipient }
            review = BundleReview(choices: try unseal(row, keys: keys), recipient: recipient)
        }
        try audit(AuditEntry(actor: actor, action: .bundleShow, outcome: .ok, school: row.school,
                             reason: row.id + (review == nil ? "" : ", with the draft's choices")))
        return (row, try vaulting { try catalog.bundleItems(id: id) }, review)
    }

    /// What was shared of a child's records: for the chronology (no audit event of its own;
    /// the chronology's `list` event covers it).
    func shares(child: String, school: String) throws -> [ShareEntry] {
        try vaulting { try catalog.bundles(school: school, child: child) }.filter { $0.0.state == .released }
            .map { ShareEntry(bundle: $0.0, items: $0.1) }
    }

    /// A token is 43 base64url characters; anything else is an unknown link (audited, coalesced
    /// per source when a `source` is given).
    func linkHash(_ token: String, refusal: AnonymousRefusal, from source: String?) throws -> Data {
        let valid = token.utf8.count == 43 && token.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x2d || $0 == 0x5f
        }
        guard valid else {
            if let source {
                try recordAnonymousRefusal(refusal, from: source)
            } else {
                try audit(AuditEntry(actor: .anonymous, action: refusal.action, outcome: .denied, reason: refusal.reason))
            }
            throw VaultError.notFound("(no such link)")
        }
        return Data(SHA256Hasher.hash(Array(token.utf8)))
    }
}
