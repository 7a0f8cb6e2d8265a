import Foundation
import GRDB
import KeyManagement

/// A bundle of evidence shared with a recipient (docs/bundles.md, migration v5).
public struct BundleRow: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "bundles"
    /// `releasing`: claimed by one approver, who alone reads and writes it (a crashed release
    /// may be claimed again after `BundleRow.claimTimeoutMillis`). `returned`: sent back to its
    /// creator by a second DSL or deputy (`BundleReturn`); it is never released.
    public enum State: String, Sendable, Codable { case draft, releasing, released, returned }
    public static let claimTimeoutMillis: Int64 = 3_600_000

    public var id: String
    public var school: String
    public var recipient: String
    public var reason: String
    public var state: State
    public var createdBy: String
    public var createdAtMillis: Int64
    public var approvedBy: String?
    public var releasedAtMillis: Int64?
    /// The draft's item choices, wrapped under `sealedKEK`; nil once released.
    public var sealedItems: Data?
    public var sealedKEK: String?
    public var archiveSHA256: String?
    public var archiveSize: Int64?
    /// SHA-256 of the download link's token: the token itself is shown once and never stored.
    public var linkHash: Data?
    /// SHA-256 of the receipt token (a second token, printed in the README inside the bundle).
    public var receiptHash: Data?
    /// The release's claim: a random id naming its attempt (and its file, `ID-CLAIM.age`); a
    /// releaser whose claim was taken over can neither commit nor touch the new one's file.
    public var claim: String?
    public var claimedAtMillis: Int64?
    public var linkExpiresMillis: Int64?
    public var linkMaxDownloads: Int?
    public var linkDownloads: Int
    public var linkRevokedMillis: Int64?
    public var receiptAtMillis: Int64?
    /// Set when a second DSL or deputy sent the draft back (state `returned`).
    public var returnedBy: String?
    public var returnedAtMillis: Int64?
    public var returnComment: String?

    enum CodingKeys: String, CodingKey {
        case id, school, recipient, reason, state
        case createdBy = "created_by", createdAtMillis = "created_at_ms", approvedBy = "approved_by"
        case releasedAtMillis = "released_at_ms", sealedItems = "sealed_items", sealedKEK = "sealed_kek"
        case archiveSHA256 = "archive_sha256", archiveSize = "archive_size", linkHash = "link_hash"
        case receiptHash = "receipt_hash", claim, claimedAtMillis = "claimed_at_ms"
        case linkExpiresMillis = "link_expires_ms", linkMaxDownloads = "link_max_downloads"
        case linkDownloads = "link_downloads", linkRevokedMillis = "link_revoked_ms", receiptAtMillis = "receipt_at_ms"
        case returnedBy = "returned_by", returnedAtMillis = "returned_at_ms", returnComment = "return_comment"
    }

    public init(id: String, school: String, recipient: String, reason: String, createdBy: String, createdAtMillis: Int64,
                sealedItems: Data, sealedKEK: String) {
        self.id = id
        self.school = school
        self.recipient = recipient
        self.reason = reason
        self.state = .draft
        self.createdBy = createdBy
        self.createdAtMillis = createdAtMillis
        self.sealedItems = sealedItems
        self.sealedKEK = sealedKEK
        self.linkDownloads = 0
    }
}

/// One record chosen for a bundle, in order. Holds no redaction detail (that is sealed).
public struct BundleItemRow: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "bundle_items"
    public var bundle: String
    public var position: Int
    public var record: String
    public var school: String
    public var child: String
    public var mode: String
    /// The record read in its place (a redacted PDF copy), set at release.
    public var source: String?

    public init(bundle: String, position: Int, record: String, school: String, child: String, mode: String) {
        self.bundle = bundle
        self.position = position
        self.record = record
        self.school = school
        self.child = child
        self.mode = mode
    }
}

/// What the release of a bundle writes.
public struct BundleRelease: Sendable {
    public var approvedBy: String
    public var releasedAtMillis: Int64
    public var archiveSHA256: String
    public var archiveSize: Int64
    public var linkHash: Data
    public var receiptHash: Data = Data()
    /// The claim this release holds (`claimBundle`).
    public var claim: String = ""
    /// Every record read for the bundle (items and the copies read in their place): all must
    /// still exist when the release commits, or a shred ran meanwhile.
    public var records: [String] = []
    public var linkExpiresMillis: Int64
    public var linkMaxDownloads: Int?
    /// Item positions whose content came from another record (a redacted copy), and that record.
    public var sources: [Int: String] = [:]

    public init(approvedBy: String, releasedAtMillis: Int64, archiveSHA256: String, archiveSize: Int64, linkHash: Data,
                linkExpiresMillis: Int64, linkMaxDownloads: Int?) {
        self.approvedBy = approvedBy
        self.releasedAtMillis = releasedAtMillis
        self.archiveSHA256 = archiveSHA256
        self.archiveSize = archiveSize
        self.linkHash = linkHash
        self.linkExpiresMillis = linkExpiresMillis
        self.linkMaxDownloads = linkMaxDownloads
    }
}

/// Whether a download link may be used now, decided and counted in one transaction.
public enum LinkUse: Sendable, Equatable {
    case allowed(BundleRow, last: Bool)
    case unknown
    case revoked(BundleRow)
    case expired(BundleRow)
    case usedUp(BundleRow)
}

/// The part of the catalog that sharing works on: bundles and their links.
public protocol BundleCatalog: Sendable {
    /// Stores a draft, its items and its audit event in one transaction.
    func addBundle(_ bundle: BundleRow, items: [BundleItemRow], event: AuditEntry, signer: AuditSigner?) throws
    func bundle(id: String) throws -> BundleRow?
    func bundleItems(id: String) throws -> [BundleItemRow]
    /// A school's bundles, newest first.
    func bundles(school: String) throws -> [BundleRow]
    /// Bundles that include records of a child, newest first, with those items.
    func bundles(school: String, child: String) throws -> [(BundleRow, [BundleItemRow])]
    /// Claims a draft (or a release that crashed over `claimTimeoutMillis` ago) for `approver`
    /// before anything is read; `lifecycleConflict` if another approval holds or finished it.
    func claimBundle(id: String, approver: String, claim: String, nowMillis: Int64) throws
    /// Renews a claim while its release works (so no one takes it over); `lifecycleConflict` if
    /// it was taken over.
    func renewClaim(id: String, claim: String, nowMillis: Int64) throws
    /// Gives a claim back (a release that failed), so that the draft can be approved again.
    func unclaimBundle(id: String, claim: String) throws
    /// Marks a claimed bundle released (dropping its sealed items) with its audit events;
    /// `lifecycleConflict` if the claim is not `approvedBy`'s or a record was shredded meanwhile.
    func releaseBundle(id: String, _ release: BundleRelease, events: [AuditEntry], signer: AuditSigner?) throws
    /// Decides whether the link with this token hash may be used at `nowMillis`, counts the use
    /// if so, and appends `event(use)` in the same transaction (nothing if it is nil: the caller
    /// audits that use itself).
    func useLink(hash: Data, nowMillis: Int64, event: @escaping (LinkUse) -> AuditEntry?, signer: AuditSigner?) throws -> LinkUse
    /// Records a receipt (the first time) with its audit event; nil if no bundle has this link.
    func confirmReceipt(hash: Data, nowMillis: Int64, event: @escaping (BundleRow) -> AuditEntry, signer: AuditSigner?) throws -> BundleRow?
    /// Revokes a released bundle's link with its audit event; `lifecycleConflict` if not released.
    func revokeLink(id: String, nowMillis: Int64, event: AuditEntry, signer: AuditSigner?) throws
    /// Redacted copies uploaded of a record (`derived_from`), newest first.
    func derivedRecords(of id: String) throws -> [EvidenceRecord]
    /// Drops the sealed choices of drafts created before `millis` (expired), and the comment of
    /// any sent back (it may name the third parties the choices did); returns how many.
    func forgetDraftChoices(createdBefore millis: Int64) throws -> Int
    /// Released bundles with a live link that hold any of `records` (as item or as its source).
    func liveBundles(holding records: [String]) throws -> [BundleRow]
}

extension RelationalCatalog {
    public func addBundle(_ bundle: BundleRow, items: [BundleItemRow], event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            try db.insert(bundle)
            for item in items { try db.insert(item) }
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func bundle(id: String) throws -> BundleRow? {
        try guarded { try read { try $0.fetchOne(BundleRow.self, "SELECT * FROM bundles WHERE id = ?", [id]) } }
    }

    public func bundleItems(id: String) throws -> [BundleItemRow] {
        try guarded { try read { try $0.fetchAll(BundleItemRow.self, "SELECT * FROM bundle_items WHERE bundle = ? ORDER BY position", [id]) } }
    }

    public func bundles(school: String) throws -> [BundleRow] {
        try guarded {
            try read { try $0.fetchAll(BundleRow.self, "SELECT * FROM bundles WHERE school = ? ORDER BY created_at_ms DESC, id", [school]) }
        }
    }

    public func bundles(school: String, child: String) throws -> [(BundleRow, [BundleItemRow])] {
        try guarded {
            try read { db in
                let items = try db.fetchAll(BundleItemRow.self, "SELECT * FROM bundle_items WHERE school = ? AND child = ? ORDER BY position",
                                            [school, child])
                let byBundle = Dictionary(grouping: items, by: \.bundle)
                guard !byBundle.isEmpty else { return [] }
                let ids = Array(byBundle.keys)
                let rows = try db.fetchAll(BundleRow.self, "SELECT * FROM bundles WHERE id IN (\(placeholders(ids.count))) ORDER BY created_at_ms DESC, id",
                                           ids.map { $0 })
                return rows.map { ($0, byBundle[$0.id] ?? []) }
            }
        }
    }

    public func claimBundle(id: String, approver: String, claim: String, nowMillis: Int64) throws {
        try guarded {
            try write { db in
                let claimed = try db.execute("""
                    UPDATE bundles SET state = 'releasing', approved_by = ?, claim = ?, claimed_at_ms = ?
                    WHERE id = ? AND (state = 'draft' OR (state = 'releasing' AND claimed_at_ms < ?))
                    """, [approver, claim, nowMillis, id, nowMillis - BundleRow.claimTimeoutMillis])
                guard claimed == 1 else {
                    throw StorageError.lifecycleConflict("the bundle is being released, or was released, by another approval")
                }
            }
        }
    }

    public func renewClaim(id: String, claim: String, nowMillis: Int64) throws {
        try guarded {
            try write { db in
                let renewed = try db.execute("UPDATE bundles SET claimed_at_ms = ? WHERE id = ? AND state = 'releasing' AND claim = ?",
                                             [nowMillis, id, claim])
                guard renewed == 1 else { throw StorageError.lifecycleConflict("the bundle's release was taken over by another approval") }
            }
        }
    }

    public func unclaimBundle(id: String, claim: String) throws {
        try guarded {
            try write { db in
                _ = try db.execute(
                    "UPDATE bundles SET state = 'draft', approved_by = NULL, claim = NULL, claimed_at_ms = NULL WHERE id = ? AND state = 'releasing' AND claim = ?",
                    [id, claim])
            }
        }
    }

    public func releaseBundle(id: String, _ release: BundleRelease, events: [AuditEntry], signer: AuditSigner?) throws {
        try auditedWrite { db in
            try Self.requireLive(db, release.records,
                                 else: "a record in the bundle was shredded while it was being released; draft the bundle again")
            let released = try db.execute("""
                UPDATE bundles SET state = 'released', released_at_ms = ?, sealed_items = NULL, sealed_kek = NULL, claimed_at_ms = NULL,
                    archive_sha256 = ?, archive_size = ?, link_hash = ?, receipt_hash = ?, link_expires_ms = ?, link_max_downloads = ?
                WHERE id = ? AND state = 'releasing' AND claim = ?
                """, [release.releasedAtMillis, release.archiveSHA256, release.archiveSize,
                      release.linkHash, release.receiptHash, release.linkExpiresMillis, release.linkMaxDownloads, id,
                      release.claim])
            guard released == 1 else { throw StorageError.lifecycleConflict("the bundle's release was taken over by another approval") }
            for (position, source) in release.sources {
                try db.execute("UPDATE bundle_items SET source = ? WHERE bundle = ? AND position = ?", [source, id, position])
            }
            _ = try self.appendLocked(db, events, signer: signer)
        }
    }

    /// Throws `lifecycleConflict(why)` unless every record of `ids` still has its row (a shred
    /// may have run while a release or a transfer read them).
    static func requireLive(_ db: any CatalogSQL, _ ids: [String], else why: String) throws {
        let wanted = Array(Set(ids))
        var present = 0
        for chunk in inChunks(wanted) {
            present += try db.value(Int.self, "SELECT count(*) AS n FROM records WHERE id IN (\(placeholders(chunk.count)))",
                                    chunk.map { $0 }) ?? 0
        }
        guard present == wanted.count else { throw StorageError.lifecycleConflict(why) }
    }

    /// `values` in pieces of at most 500, for an `IN (…)` each: far below either engine's limit
    /// on bound parameters, and statements of one size are reused from the cache.
    static func inChunks(_ values: [String]) -> [ArraySlice<String>] {
        stride(from: 0, to: values.count, by: 500).map { values[$0..<min(values.count, $0 + 500)] }
    }

    public func useLink(hash: Data, nowMillis: Int64, event: @escaping (LinkUse) -> AuditEntry?, signer: AuditSigner?) throws -> LinkUse {
        return try auditedWrite { db in
            let use: LinkUse
            if var row = try db.fetchOne(BundleRow.self, "SELECT * FROM bundles WHERE link_hash = ?", [hash]) {
                if row.linkRevokedMillis != nil {
                    use = .revoked(row)
                } else if let expires = row.linkExpiresMillis, nowMillis >= expires {
                    use = .expired(row)
                } else if let max = row.linkMaxDownloads, row.linkDownloads >= max {
                    use = .usedUp(row)
                } else {
                    row.linkDownloads += 1
                    try db.execute("UPDATE bundles SET link_downloads = ? WHERE id = ?", [row.linkDownloads, row.id])
                    use = .allowed(row, last: row.linkMaxDownloads.map { row.linkDownloads >= $0 } ?? false)
                }
            } else {
                use = .unknown
            }
            if let entry = event(use) { _ = try self.appendLocked(db, [entry], signer: signer) }
            return use
        }
    }

    public func confirmReceipt(hash: Data, nowMillis: Int64, event: @escaping (BundleRow) -> AuditEntry, signer: AuditSigner?) throws -> BundleRow? {
        return try auditedWrite { db in
            guard var row = try db.fetchOne(BundleRow.self, "SELECT * FROM bundles WHERE receipt_hash = ?", [hash]) else { return nil }
            if row.receiptAtMillis == nil {
                row.receiptAtMillis = nowMillis
                try db.execute("UPDATE bundles SET receipt_at_ms = ? WHERE id = ?", [nowMillis, row.id])
            }
            _ = try self.appendLocked(db, [event(row)], signer: signer)
            return row
        }
    }

    public func derivedRecords(of id: String) throws -> [EvidenceRecord] {
        try guarded {
            try read {
                try $0.fetchAll(EvidenceRecord.self, "SELECT * FROM records WHERE derived_from = ? ORDER BY created_at_ms DESC, id", [id])
            }
        }
    }

    public func forgetDraftChoices(createdBefore millis: Int64) throws -> Int {
        try guarded {
            try write {
                try $0.execute("UPDATE bundles SET sealed_items = NULL, sealed_kek = NULL, return_comment = NULL WHERE state IN ('draft', 'returned') AND created_at_ms < ? AND sealed_items IS NOT NULL",
                               [millis])
            }
        }
    }

    public func liveBundles(holding records: [String]) throws -> [BundleRow] {
        guard !records.isEmpty else { return [] }
        return try guarded {
            try read { db in
                var found: [String: BundleRow] = [:]
                for chunk in Self.inChunks(records) {
                    let marks = placeholders(chunk.count)
                    let rows = try db.fetchAll(BundleRow.self, """
                        SELECT DISTINCT b.* FROM bundles b JOIN bundle_items i ON i.bundle = b.id
                        WHERE b.state = 'released' AND b.link_revoked_ms IS NULL
                          AND (i.record IN (\(marks)) OR i.source IN (\(marks)))
                        """, (chunk + chunk).map { $0 })
                    for row in rows { found[row.id] = row }
                }
                return found.values.sorted { $0.id < $1.id }
            }
        }
    }

    public func revokeLink(id: String, nowMillis: Int64, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            let revoked = try db.execute(
                "UPDATE bundles SET link_revoked_ms = COALESCE(link_revoked_ms, ?) WHERE id = ? AND state = 'released'",
                [nowMillis, id])
            guard revoked == 1 else { throw StorageError.lifecycleConflict("only a released bundle has a link to revoke") }
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }
}
