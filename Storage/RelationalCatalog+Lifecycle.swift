import Foundation
import GRDB
import KeyManagement

extension RelationalCatalog {
    public func setDateOfBirth(
        school: String?, child: String, dob: String, by actor: String, updates: [RecordKeyUpdate], event: AuditEntry, signer: AuditSigner?
    ) throws {
        try auditedWrite { db in
            try db.execute("""
                INSERT INTO children (school, child, dob, set_at_ms, set_by) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (school, child) DO UPDATE SET dob = excluded.dob, set_at_ms = excluded.set_at_ms, set_by = excluded.set_by
                """, [school ?? "", child, dob, self.nowMillis, actor])
            try Self.applyAll(db, updates)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func newRecordFacts(school: String, child: String, concern: String) throws -> (dateOfBirth: String?, held: Bool) {
        try guarded {
            try read { db in
                let dob = try db.value(
                    String.self, "SELECT dob FROM children WHERE child = ? AND school IN (?, '') ORDER BY school DESC LIMIT 1", [child, school])
                let held = try db.exists("""
                    SELECT 1 FROM holds WHERE released_at_ms IS NULL AND school = ?
                        AND ((scope = 'child' AND target = ?) OR (scope = 'concern' AND target = ?)) LIMIT 1
                    """, [school, child, concern])
                return (dob, held)
            }
        }
    }

    public func hasOwnDateOfBirth(school: String, child: String) throws -> Bool {
        try guarded {
            try read { try $0.exists("SELECT 1 FROM children WHERE school = ? AND child = ?", [school, child]) }
        }
    }

    @discardableResult
    public func rekey(_ updates: [RecordKeyUpdate], events: [AuditEntry], signer: AuditSigner?) throws -> Int {
        try auditedWrite { db in
            let changed = try Self.apply(db, updates)
            if !events.isEmpty { _ = try self.appendLocked(db, events, signer: signer) }
            return changed
        }
    }

    /// Applies every update or none: if a record moved meanwhile, the transaction is refused.
    static func applyAll(_ db: any CatalogSQL, _ updates: [RecordKeyUpdate]) throws {
        guard try apply(db, updates) == updates.count else { throw StorageError.recordsMoved }
    }

    @discardableResult
    static func apply(_ db: any CatalogSQL, _ updates: [RecordKeyUpdate]) throws -> Int {
        var checked = Set<String>()
        var changed = 0
        for update in updates {
            if checked.insert(update.toKEK).inserted { try requireLiveKEK(db, update.toKEK) }
            if let row = update.rowID {
                changed += try db.execute("""
                    UPDATE records SET kek_id = ?, wrapped_dek = ?, review_on = ? WHERE rowid = ? AND id = ? AND kek_id = ?
                    """, [update.toKEK, update.wrappedDEK, update.reviewOn, row, update.record, update.fromKEK])
            } else {
                changed += try db.execute("""
                    UPDATE records SET kek_id = ?, wrapped_dek = ?, review_on = ? WHERE id = ? AND kek_id = ?
                    """, [update.toKEK, update.wrappedDEK, update.reviewOn, update.record, update.fromKEK])
            }
        }
        return changed
    }

    public func rekeyPage(
        afterRowID: Int64, limit: Int, _ rekey: @escaping ([KeyedRecord], [Hold]) throws -> [RecordKeyUpdate]
    ) throws -> (last: Int64?, changed: Int) {
        try auditedWrite { db in
            // Rowid order reads the table sequentially; the writer's own cache serves the updates.
            let rows = try db.rows("SELECT \(KeyedRecord.columns) FROM records WHERE rowid > ? ORDER BY rowid LIMIT ?", [afterRowID, limit])
            guard !rows.isEmpty else { return (nil, 0) }
            let page = rows.map(KeyedRecord.init(row:))
            let holds = try db.fetchAll(Hold.self, "SELECT * FROM holds WHERE released_at_ms IS NULL")
            let changed = try Self.apply(db, try rekey(page, holds))
            return (page.last!.rowID, changed)
        }
    }

    // MARK: holds

    public func placeHold(_ hold: Hold, updates: [RecordKeyUpdate], event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            try db.insert(hold)
            try Self.applyAll(db, updates)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func requestHoldRelease(_ requested: Hold, expected: Hold, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            try Self.requireUnchanged(db, expected)
            try db.update(requested, key: "id")
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func releaseHold(_ released: Hold, expected: Hold, updates: [RecordKeyUpdate], event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            try Self.requireUnchanged(db, expected)
            try db.update(released, key: "id")
            try Self.applyAll(db, updates)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    /// The hold must still be active and exactly as the caller read it: a release approved is
    /// the request the approver saw, not one made or replaced since.
    static func requireUnchanged(_ db: any CatalogSQL, _ expected: Hold) throws {
        guard let current = try db.fetchOne(Hold.self, "SELECT * FROM holds WHERE id = ?", [expected.id]) else {
            throw StorageError.lifecycleNotFound(what: "hold", id: expected.id)
        }
        guard current.isActive else { throw StorageError.lifecycleConflict("hold \(expected.id) was already released") }
        guard current == expected else {
            throw StorageError.lifecycleConflict("the release request of hold \(expected.id) changed meanwhile; look at it again")
        }
    }

    public func hold(id: String) throws -> Hold? {
        try guarded { try read { try $0.fetchOne(Hold.self, "SELECT * FROM holds WHERE id = ?", [id]) } }
    }

    public func activeHolds(school: String?) throws -> [Hold] {
        try guarded {
            try read { db in
                if let school {
                    return try db.fetchAll(Hold.self, "SELECT * FROM holds WHERE released_at_ms IS NULL AND school = ? ORDER BY placed_at_ms", [school])
                }
                return try db.fetchAll(Hold.self, "SELECT * FROM holds WHERE released_at_ms IS NULL ORDER BY placed_at_ms")
            }
        }
    }

    public func records(school: String, scope: Hold.Scope, target: String) throws -> [EvidenceRecord] {
        let column: String
        switch scope {
        case .record: column = "id"
        case .child: column = "child"
        case .concern: column = "concern"
        }
        return try guarded {
            try read { db in
                try db.fetchAll(EvidenceRecord.self, "SELECT * FROM records WHERE school = ? AND \(column) = ?", [school, target])
            }
        }
    }

    // MARK: shredding

    /// `values` in pieces of at most 500, each with its "?, ?, …" for an `IN (…)` (both engines'
    /// limits on bound parameters are far above, and statements of one size are reused from the
    /// cache).
    static func inLists(_ values: [String]) -> [(marks: String, values: [String])] {
        stride(from: 0, to: values.count, by: 500).map { start in
            let chunk = Array(values[start..<min(values.count, start + 500)])
            return (placeholders(chunk.count), chunk)
        }
    }

    public func records(ids: [String]) throws -> [EvidenceRecord] {
        try guarded {
            try read { db in
                var out: [EvidenceRecord] = []
                out.reserveCapacity(ids.count)
                for (marks, chunk) in Self.inLists(ids) {
                    out += try db.fetchAll(EvidenceRecord.self, "SELECT * FROM records WHERE id IN (\(marks))", chunk)
                }
                return out
            }
        }
    }

    public func createShredRequest(_ request: ShredRequest, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            // Checked again here, in the transaction that stores the request: a hold placed after
            // the vault looked must not let a request be made while a record is held.
            let held = try Self.namedBy(
                try db.fetchAll(Hold.self, "SELECT * FROM holds WHERE released_at_ms IS NULL AND school = ?", [request.school]),
                records: request.records, db)
            guard held.isEmpty else { throw StorageError.recordsHeld(held) }
            try db.insert(request)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    /// Which of `ids` (live records) one of `holds` names, in the order of `ids`.
    static func namedBy(_ holds: [Hold], records ids: [String], _ db: any CatalogSQL) throws -> [String] {
        guard !holds.isEmpty else { return [] }
        var held: [String] = []
        for id in ids {
            guard let row = try db.row("SELECT \(KeyedRecord.columns) FROM records WHERE id = ?", [id]) else { continue }
            let r = KeyedRecord(row: row)
            if holds.contains(where: { $0.names(school: r.school, id: r.id, child: r.child, concern: r.concern) }) { held.append(id) }
        }
        return held
    }

    public func shredRequest(id: String) throws -> ShredRequest? {
        try guarded { try read { try $0.fetchOne(ShredRequest.self, "SELECT * FROM shred_requests WHERE id = ?", [id]) } }
    }

    public func executeShred(
        _ approved: ShredRequest, tombstones: [Tombstone], events: [AuditEntry], voided: ([String]) -> AuditEntry, signer: AuditSigner?
    ) throws -> ShredExecution {
        try withoutActuallyEscaping(voided) { voided in
            try auditedWrite { db in
                guard let current = try db.fetchOne(ShredRequest.self, "SELECT * FROM shred_requests WHERE id = ?", [approved.id]) else {
                    throw StorageError.lifecycleNotFound(what: "shred request", id: approved.id)
                }
                guard current.state == .pending else {
                    let state = switch current.state {
                    case .void: "void"
                    case .withdrawn: "withdrawn"
                    default: "already approved"
                    }
                    throw StorageError.lifecycleConflict("shred request \(approved.id) is \(state)")
                }
                // Every hold active at any time since the request was made: one active now, and
                // one placed and released meanwhile, both end the request for good.
                let holds = try db.fetchAll(
                    Hold.self, "SELECT * FROM holds WHERE school = ? AND (released_at_ms IS NULL OR released_at_ms >= ?)",
                    [approved.school, current.requestedAtMillis])
                let held = try Self.namedBy(holds, records: approved.records, db)
                guard held.isEmpty else {
                    try db.execute(
                        "UPDATE shred_requests SET state = ? WHERE id = ? AND state = ?",
                        [ShredRequest.State.void.rawValue, approved.id, ShredRequest.State.pending.rawValue])
                    _ = try self.appendLocked(db, [voided(held)], signer: signer)
                    return .voided(held: held)
                }
                try Self.execute(db, approved, tombstones: tombstones)
                _ = try self.appendLocked(db, events, signer: signer)
                return .executed
            }
        }
    }

    /// The executing half of an approval: tombstones in, rows (and wrapped keys) out.
    private static func execute(_ db: any CatalogSQL, _ approved: ShredRequest, tombstones: [Tombstone]) throws {
        // In batches, not a round trip per record: every node's writes wait while this runs.
        var live: [String: (rowID: Int64, kekID: String)] = [:]
        for ids in approved.records.chunked(into: valuesPerStatement) {
            for row in try db.rows("SELECT \(KeyedRecord.columns) FROM records WHERE id IN (\(placeholders(ids.count)))", ids.map { $0 }) {
                let record = KeyedRecord(row: row)
                live[record.id] = (record.rowID!, record.kekID)
            }
        }
        // Only records still live (another request may have shredded one meanwhile), with the
        // KEK the key is under now (a rotation may have moved it since).
        let kept: [Tombstone] = tombstones.compactMap { tombstone in
            guard let now = live[tombstone.record] else { return nil }
            var tombstone = tombstone
            tombstone.kekID = now.kekID
            return tombstone
        }
        try db.insertAll(kept)
        for rowIDs in live.values.map(\.rowID).chunked(into: valuesPerStatement) {
            try db.execute("DELETE FROM records WHERE rowid IN (\(placeholders(rowIDs.count)))", rowIDs.map { $0 })
        }
        try removeOrphanedLabels(db)
        try db.update(approved, key: "id")
    }

    public func unfinishedShreds() throws -> [ShredRequest] {
        try guarded {
            try read { try $0.fetchAll(ShredRequest.self, "SELECT * FROM shred_requests WHERE state = ?", [ShredRequest.State.executing.rawValue]) }
        }
    }

    public func tombstones(request: String) throws -> [Tombstone] {
        try guarded { try read { try $0.fetchAll(Tombstone.self, "SELECT * FROM tombstones WHERE request = ? ORDER BY record", [request]) } }
    }

    public func tombstone(record: String) throws -> Tombstone? {
        try guarded { try read { try $0.fetchOne(Tombstone.self, "SELECT * FROM tombstones WHERE record = ?", [record]) } }
    }

    public func allTombstones() throws -> [Tombstone] {
        try guarded { try read { try $0.fetchAll(Tombstone.self, "SELECT * FROM tombstones ORDER BY record") } }
    }

    public func completeShred(id: String, certificate: Data, events: [AuditEntry], signer: AuditSigner?) throws {
        try auditedWrite { db in
            let changed = try db.execute(
                "UPDATE shred_requests SET state = ?, certificate = ? WHERE id = ? AND state = ?",
                [ShredRequest.State.done.rawValue, certificate, id, ShredRequest.State.executing.rawValue])
            guard changed == 1 else { throw StorageError.lifecycleConflict("shred request \(id) is not being executed") }
            _ = try self.appendLocked(db, events, signer: signer)
        }
    }

    // MARK: KEKs

    public func recordCountsByKEK() throws -> [String: Int] {
        try guarded {
            try read { db in
                var out: [String: Int] = [:]
                try db.forEachRow("SELECT kek_id, count(*) AS n FROM records GROUP BY kek_id", []) { row in out[row["kek_id"]] = row["n"] }
                return out
            }
        }
    }

    public func markKEKsDestroyed(
        _ ids: Set<String>, reason: String, events: (Set<String>) -> [AuditEntry], signer: AuditSigner?
    ) throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let makeEvents = events
        return try withoutActuallyEscaping(makeEvents) { makeEvents in
            try auditedWrite { db in
                // One scan, not an index on kek_id: such an index would be rewritten at random on
                // every insert and every re-wrap, which is what a rotation of a million keys costs.
                let inUse = Set(try db.values(String.self, "SELECT DISTINCT kek_id FROM records"))
                var marked = Set<String>()
                for id in ids.sorted() {
                    if inUse.contains(id) { continue }
                    let inserted = try db.execute(
                        "INSERT INTO destroyed_keks (id, destroyed_at_ms, reason) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
                        [id, self.nowMillis, reason])
                    // Only a KEK newly marked here (a second process finishing the same shred adds no event).
                    if inserted == 1 { marked.insert(id) }
                }
                let entries = makeEvents(marked)
                if !entries.isEmpty { _ = try self.appendLocked(db, entries, signer: signer) }
                return marked
            }
        }
    }

    public func destroyedKEKs() throws -> Set<String> {
        try guarded { Set(try read { try $0.values(String.self, "SELECT id FROM destroyed_keks") }) }
    }

    // MARK: retention

    public func dueRecords(asOf: String, schools: [String]?) throws -> [DueRecord] {
        if let schools, schools.isEmpty { return [] }
        return try guarded {
            try read { db in
                // The review index serves both the one-school and the every-school question: the
                // schools are matched as `school || ''`, which no index offers, so the planner
                // does not pick the (school, concern) index instead and sort everything.
                var sql = "SELECT id, school, child, concern, kind, category, created_at_ms, review_on FROM records WHERE review_on <= ?"
                var arguments: SQLArguments = [asOf]
                if let schools {
                    sql += " AND school || '' IN (\(placeholders(schools.count)))"
                    arguments += schools.map { $0 }
                }
                sql += " ORDER BY review_on, school, id"
                var out: [DueRecord] = []
                try db.forEachRow(sql, arguments) { row in
                    out.append(DueRecord(
                        id: row["id"], school: row["school"], child: row["child"], concern: row["concern"], kind: row["kind"],
                        category: row["category"], createdAtMillis: row["created_at_ms"], reviewOn: row["review_on"]))
                }
                return out
            }
        }
    }
}
