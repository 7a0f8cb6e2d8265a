import Foundation
import GRDB
import KeyManagement

extension SQLiteCatalog {
    static func registerTransferMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v16-transfers") { db in
            try db.execute(sql: """
                CREATE TABLE school_directory (
                    owner TEXT NOT NULL, school TEXT NOT NULL, name TEXT NOT NULL, age_recipient TEXT NOT NULL,
                    signing_key TEXT NOT NULL, fingerprint TEXT NOT NULL, added_by TEXT NOT NULL, added_at_ms INTEGER NOT NULL,
                    signature BLOB NOT NULL, PRIMARY KEY (owner, school));
                CREATE TABLE transfers (
                    id TEXT PRIMARY KEY NOT NULL, school TEXT NOT NULL, child TEXT NOT NULL, to_school TEXT NOT NULL,
                    to_fingerprint TEXT NOT NULL, reason TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('draft', 'sending', 'sent', 'received')),
                    created_by TEXT NOT NULL, created_account TEXT, created_at_ms INTEGER NOT NULL,
                    approved_by TEXT, approved_account TEXT, claim TEXT, claimed_at_ms INTEGER, sent_at_ms INTEGER,
                    manifest_sha256 TEXT, package_sha256 TEXT, package_size INTEGER, record_count INTEGER,
                    link_hash BLOB UNIQUE, link_expires_ms INTEGER, link_downloads INTEGER NOT NULL DEFAULT 0,
                    receipt_at_ms INTEGER, receipt BLOB, after_receipt TEXT);
                CREATE INDEX transfers_by_child ON transfers (school, child, created_at_ms);
                CREATE TABLE transfer_records (
                    transfer TEXT NOT NULL, position INTEGER NOT NULL, record TEXT NOT NULL, PRIMARY KEY (transfer, position));
                CREATE TABLE incoming_transfers (
                    id TEXT PRIMARY KEY NOT NULL, school TEXT NOT NULL, child TEXT NOT NULL, from_school TEXT NOT NULL,
                    from_name TEXT NOT NULL, transfer TEXT NOT NULL, manifest_sha256 TEXT NOT NULL UNIQUE,
                    sent_at_ms INTEGER NOT NULL, received_at_ms INTEGER NOT NULL, received_by TEXT NOT NULL,
                    receipt BLOB NOT NULL, shares BLOB NOT NULL, receipt_delivered_ms INTEGER,
                    UNIQUE (from_school, transfer));
                CREATE INDEX incoming_by_child ON incoming_transfers (school, child, received_at_ms);
                CREATE TABLE transferred_records (
                    record TEXT PRIMARY KEY NOT NULL, incoming TEXT NOT NULL, original_id TEXT NOT NULL,
                    original_sha256 TEXT NOT NULL, recorded_at_ms INTEGER NOT NULL, recorded_by TEXT NOT NULL);
                CREATE INDEX transferred_by_incoming ON transferred_records (incoming);
                CREATE TABLE transfer_settings (
                    school TEXT PRIMARY KEY NOT NULL, name TEXT,
                    after_receipt TEXT CHECK (after_receipt IS NULL OR after_receipt IN ('draft-shred', 'keep')));
                """)
        }
    }
}

extension RelationalCatalog {
    /// Records a receipt, and the shred request the school's rule drafts, in one transaction.
    public func recordTransferReceipt(id: String, receipt: Data, atMillis: Int64, afterReceipt: String, events: [AuditEntry],
                                      shred: (request: ShredRequest, event: AuditEntry)?, signer: AuditSigner?) throws -> Bool {
        try auditedWrite { db in
            let received = try db.execute("""
                UPDATE transfers SET state = 'received', receipt = ?, receipt_at_ms = ?, after_receipt = ? WHERE id = ? AND state = 'sent'
                """, [receipt, atMillis, afterReceipt, id])
            guard received == 1 else { return false }
            var entries = events
            if let shred {
                // Records held since the rule was applied are left out, as a shred request would.
                let held = Set(try Self.namedBy(
                    try db.fetchAll(Hold.self, "SELECT * FROM holds WHERE released_at_ms IS NULL AND school = ?", [shred.request.school]),
                    records: shred.request.records, db))
                var request = shred.request
                request.records = request.records.filter { !held.contains($0) }
                if !request.records.isEmpty {
                    try db.insert(request)
                    entries.append(shred.event)
                }
            }
            _ = try self.appendLocked(db, entries, signer: signer)
            return true
        }
    }

    // MARK: directory

    public func pinSchool(_ school: PinnedSchool, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            // Replaces the card of that school in the owner's directory, or adds it.
            if try db.update(school, key: "owner", "school") == 0 { try db.insert(school) }
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func pinnedSchools(owner: String) throws -> [PinnedSchool] {
        try guarded { try read { try $0.fetchAll(PinnedSchool.self, "SELECT * FROM school_directory WHERE owner = ? ORDER BY school", [owner]) } }
    }

    public func pinnedSchool(owner: String, school: String) throws -> PinnedSchool? {
        try guarded {
            try read { try $0.fetchOne(PinnedSchool.self, "SELECT * FROM school_directory WHERE owner = ? AND school = ?", [owner, school]) }
        }
    }

    // MARK: sending

    public func addTransfer(_ transfer: TransferRow, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            try db.insert(transfer)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func transfer(id: String) throws -> TransferRow? {
        try guarded { try read { try $0.fetchOne(TransferRow.self, "SELECT * FROM transfers WHERE id = ?", [id]) } }
    }

    public func transfers(school: String, child: String?) throws -> [TransferRow] {
        try guarded {
            try read { db in
                if let child {
                    return try db.fetchAll(TransferRow.self, "SELECT * FROM transfers WHERE school = ? AND child = ? ORDER BY created_at_ms DESC, id",
                                           [school, child])
                }
                return try db.fetchAll(TransferRow.self, "SELECT * FROM transfers WHERE school = ? ORDER BY created_at_ms DESC, id", [school])
            }
        }
    }

    public func waitingTransfers(schools: [String]) throws -> [TransferRow] {
        guard !schools.isEmpty else { return [] }
        let columns = ["id", "school", "child", "to_school", "to_fingerprint", "reason", "state", "created_by", "created_account",
                       "created_at_ms", "sent_at_ms", "link_downloads"]
        let sql = """
            SELECT \(columns.joined(separator: ", ")) FROM transfers
            WHERE school IN (\(placeholders(schools.count))) AND state IN (?, ?)
            """
        let arguments: SQLArguments = schools.map { $0 } + [TransferRow.State.draft.rawValue, TransferRow.State.sent.rawValue]
        return try guarded { try read { try $0.fetchAll(TransferRow.self, sql, arguments) } }
    }

    public func transferRecords(id: String) throws -> [String] {
        try guarded {
            try read { try $0.values(String.self, "SELECT record FROM transfer_records WHERE transfer = ? ORDER BY position", [id]) }
        }
    }

    public func claimTransfer(id: String, approver: String, account: String?, claim: String, nowMillis: Int64) throws {
        try guarded {
            try write { db in
                let claimed = try db.execute("""
                    UPDATE transfers SET state = 'sending', approved_by = ?, approved_account = ?, claim = ?, claimed_at_ms = ?
                    WHERE id = ? AND (state = 'draft' OR (state = 'sending' AND claimed_at_ms < ?))
                    """, [approver, account, claim, nowMillis, id, nowMillis - TransferRow.claimTimeoutMillis])
                guard claimed == 1 else {
                    throw StorageError.lifecycleConflict("the transfer is being sent, or was sent, by another approval")
                }
            }
        }
    }

    public func unclaimTransfer(id: String, claim: String) throws {
        try guarded {
            try write { db in
                try db.execute("""
                    UPDATE transfers SET state = 'draft', approved_by = NULL, approved_account = NULL, claim = NULL, claimed_at_ms = NULL
                    WHERE id = ? AND state = 'sending' AND claim = ?
                    """, [id, claim])
            }
        }
    }

    public func sendTransfer(id: String, _ sending: TransferSending, events: [AuditEntry], signer: AuditSigner?) throws {
        try auditedWrite { db in
            try Self.requireLive(db, sending.records,
                                 else: "a record of the child was shredded while the transfer was being made; approve it again")
            let sent = try db.execute("""
                UPDATE transfers SET state = 'sent', sent_at_ms = ?, manifest_sha256 = ?, package_sha256 = ?, package_size = ?,
                    record_count = ?, link_hash = ?, link_expires_ms = ?, claimed_at_ms = NULL
                WHERE id = ? AND state = 'sending' AND claim = ?
                """, [sending.sentAtMillis, sending.manifestSHA256, sending.packageSHA256, sending.packageSize,
                      sending.records.count, sending.linkHash, sending.linkExpiresMillis, id, sending.claim])
            guard sent == 1 else { throw StorageError.lifecycleConflict("the transfer's sending was taken over by another approval") }
            for (position, record) in sending.records.enumerated() {
                try db.execute("INSERT INTO transfer_records (transfer, position, record) VALUES (?, ?, ?)", [id, position, record])
            }
            _ = try self.appendLocked(db, events, signer: signer)
        }
    }

    public func useTransferLink(
        hash: Data, maxDownloads: Int, nowMillis: Int64, event: @escaping (TransferLinkUse) -> AuditEntry?, signer: AuditSigner?
    ) throws -> TransferLinkUse {
        try auditedWrite { db in
            let use: TransferLinkUse
            if var row = try db.fetchOne(TransferRow.self, "SELECT * FROM transfers WHERE link_hash = ?", [hash]) {
                if let expires = row.linkExpiresMillis, nowMillis >= expires {
                    use = .expired(row)
                } else if row.linkDownloads >= maxDownloads {
                    use = .usedUp(row)
                } else {
                    row.linkDownloads += 1
                    try db.execute("UPDATE transfers SET link_downloads = ? WHERE id = ?", [row.linkDownloads, row.id])
                    use = .allowed(row)
                }
            } else {
                use = .unknown
            }
            if let entry = event(use) { _ = try self.appendLocked(db, [entry], signer: signer) }
            return use
        }
    }

    // MARK: receiving

    public func commitImport(_ received: TransferImport, signer: AuditSigner?) throws {
        try auditedWrite { db in
            if try db.exists("SELECT 1 FROM incoming_transfers WHERE manifest_sha256 = ?", [received.incoming.manifestSHA256])
                || db.exists("SELECT 1 FROM incoming_transfers WHERE from_school = ? AND transfer = ?",
                             [received.incoming.fromSchool, received.incoming.transfer]) {
                throw StorageError.lifecycleConflict("this transfer was received before")
            }
            for record in received.records {
                try Self.requireLiveKEK(db, record.kekID)
                try db.insert(record)
            }
            if let dob = received.dateOfBirth {
                try db.execute("INSERT INTO children (school, child, dob, set_at_ms, set_by) VALUES (?, ?, ?, ?, ?)",
                               [received.incoming.school, received.incoming.child, dob, received.incoming.receivedAtMillis,
                                received.incoming.receivedBy])
            }
            try db.insert(received.incoming)
            for row in received.provenance { try db.insert(row) }
            for hold in received.holds { try db.insert(hold) }
            _ = try self.appendLocked(db, received.events, signer: signer)
        }
    }

    public func childKnown(school: String, child: String) throws -> Bool {
        try guarded {
            try read { db in
                try db.exists("""
                    SELECT 1 WHERE EXISTS (SELECT 1 FROM records WHERE school = ? AND child = ?)
                        OR EXISTS (SELECT 1 FROM children WHERE school = ? AND child = ?)
                        OR EXISTS (SELECT 1 FROM tombstones WHERE school = ? AND child = ?)
                        OR EXISTS (SELECT 1 FROM labels WHERE school = ? AND kind = 'child' AND subject = ?)
                    """, [school, child, school, child, school, child, school, child])
            }
        }
    }

    public func incomingTransfer(manifestSHA256: String) throws -> IncomingTransferRow? {
        try guarded {
            try read { try $0.fetchOne(IncomingTransferRow.self, "SELECT * FROM incoming_transfers WHERE manifest_sha256 = ?", [manifestSHA256]) }
        }
    }

    public func incomingTransfer(id: String) throws -> IncomingTransferRow? {
        try guarded { try read { try $0.fetchOne(IncomingTransferRow.self, "SELECT * FROM incoming_transfers WHERE id = ?", [id]) } }
    }

    public func incomingTransfers(school: String, child: String?) throws -> [IncomingTransferRow] {
        try guarded {
            try read { db in
                if let child {
                    return try db.fetchAll(IncomingTransferRow.self, """
                        SELECT * FROM incoming_transfers WHERE school = ? AND child = ? ORDER BY received_at_ms DESC, id
                        """, [school, child])
                }
                return try db.fetchAll(IncomingTransferRow.self, "SELECT * FROM incoming_transfers WHERE school = ? ORDER BY received_at_ms DESC, id",
                                       [school])
            }
        }
    }

    public func transferredRecords(incoming: String) throws -> [TransferredRecordRow] {
        try guarded {
            try read {
                try $0.fetchAll(TransferredRecordRow.self, "SELECT * FROM transferred_records WHERE incoming = ? ORDER BY recorded_at_ms, record",
                                [incoming])
            }
        }
    }

    public func markReceiptDelivered(incoming: String, atMillis: Int64) throws {
        try guarded {
            try write {
                try $0.execute("UPDATE incoming_transfers SET receipt_delivered_ms = COALESCE(receipt_delivered_ms, ?) WHERE id = ?",
                               [atMillis, incoming])
            }
        }
    }

    public func afterReceiptRule(school: String) throws -> AfterReceiptRule {
        try guarded {
            try read { db in
                let text = try db.value(String.self, "SELECT after_receipt FROM transfer_settings WHERE school = ?", [school])
                return text.flatMap(AfterReceiptRule.init(rawValue:)) ?? .draftShred
            }
        }
    }

    public func setAfterReceiptRule(school: String, _ rule: AfterReceiptRule, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            try db.execute("""
                INSERT INTO transfer_settings (school, after_receipt) VALUES (?, ?)
                ON CONFLICT (school) DO UPDATE SET after_receipt = excluded.after_receipt
                """, [school, rule.rawValue])
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func transferNames() throws -> [String: String] {
        try guarded {
            try read { db in
                let rows = try db.rows("SELECT school, name FROM transfer_settings WHERE name IS NOT NULL", [])
                return Dictionary(rows.map { ($0["school"] as String, $0["name"] as String) }, uniquingKeysWith: { a, _ in a })
            }
        }
    }

    public func setTransferName(school: String, name: String, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            try db.execute("""
                INSERT INTO transfer_settings (school, name) VALUES (?, ?) ON CONFLICT (school) DO UPDATE SET name = excluded.name
                """, [school, name])
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    // MARK: audit proofs

    public func auditLeafHashes(size: Int) throws -> [[UInt8]] {
        try guarded {
            try read { db in
                var out: [[UInt8]] = []
                out.reserveCapacity(size)
                try db.forEachRow("SELECT seq, hash FROM audit_events WHERE seq <= ? ORDER BY seq", [size]) { row in
                    guard row["seq"] as Int64 == Int64(out.count + 1) else {
                        throw StorageError.auditRewritten("event \(out.count + 1) is missing from the log")
                    }
                    out.append([UInt8](row["hash"] as Data))
                }
                guard out.count == size else { throw StorageError.auditRewritten("the log holds \(out.count) events, not \(size)") }
                return out
            }
        }
    }

    public func putEvents(records: [String]) throws -> [String: AuditEvent] {
        try guarded {
            try read { db in
                var found: [String: AuditEvent] = [:]
                for chunk in Self.inChunks(records) {
                    try db.forEachRow("""
                        SELECT * FROM audit_events WHERE record IN (\(placeholders(chunk.count))) AND action = 'put' AND outcome = 'ok' ORDER BY seq
                        """, chunk.map { $0 }) { row in
                        let event = Self.event(row)
                        if let record = event.record, found[record] == nil { found[record] = event }
                    }
                }
                return found
            }
        }
    }
}
