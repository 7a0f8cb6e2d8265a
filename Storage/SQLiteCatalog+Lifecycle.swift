import Foundation
import GRDB
import KeyManagement

extension SQLiteCatalog: LifecycleCatalog {
    public func setDateOfBirth(
        school: String?, child: String, dob: String, by actor: String, updates: [RecordKeyUpdate], event: AuditEntry, signer: AuditSigner?
    ) throws {
        try sqliteWrite { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO children (school, child, dob, set_at_ms, set_by) VALUES (?, ?, ?, ?, ?)",
                arguments: [school ?? "", child, dob, self.nowMillis, actor])
            try Self.applyAll(db, updates)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func newRecordFacts(school: String, child: String, concern: String) throws -> (dateOfBirth: String?, held: Bool) {
        try guarded {
            try pool.read { db in
                let dob = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT dob FROM children WHERE child = ? AND school IN (?, '') ORDER BY school DESC LIMIT 1"),
                    arguments: [child, school])
                let held = try Bool.fetchOne(
                    db.cachedStatement(sql: """
                        SELECT 1 FROM holds WHERE released_at_ms IS NULL AND school = ?
                            AND ((scope = 'child' AND target = ?) OR (scope = 'concern' AND target = ?)) LIMIT 1
                        """),
                    arguments: [school, child, concern]) ?? false
                return (dob, held)
            }
        }
    }

    public func hasOwnDateOfBirth(school: String, child: String) throws -> Bool {
        try guarded {
            try pool.read { try Bool.fetchOne($0, sql: "SELECT 1 FROM children WHERE school = ? AND child = ?", arguments: [school, child]) ?? false }
        }
    }

    @discardableResult
    public func rekey(_ updates: [RecordKeyUpdate], events: [AuditEntry], signer: AuditSigner?) throws -> Int {
        try sqliteWrite { db in
            let changed = try Self.apply(db, updates)
            if !events.isEmpty { _ = try self.appendLocked(db, events, signer: signer) }
            return changed
        }
    }

    /// Applies every update or none: if a record moved meanwhile, the transaction is refused.
    static func applyAll(_ db: Database, _ updates: [RecordKeyUpdate]) throws {
        guard try apply(db, updates) == updates.count else { throw StorageError.recordsMoved }
    }

    @discardableResult
    static func apply(_ db: Database, _ updates: [RecordKeyUpdate]) throws -> Int {
        var checked = Set<String>()
        let byID = try db.cachedStatement(sql: """
            UPDATE records SET kek_id = ?, wrapped_dek = ?, review_on = ? WHERE id = ? AND kek_id = ?
            """)
        let byRow = try db.cachedStatement(sql: """
            UPDATE records SET kek_id = ?, wrapped_dek = ?, review_on = ? WHERE rowid = ? AND id = ? AND kek_id = ?
            """)
        var changed = 0
        for update in updates {
            if checked.insert(update.toKEK).inserted { try requireLiveKEK(db, update.toKEK) }
            if let row = update.rowID {
                try byRow.execute(arguments: [update.toKEK, update.wrappedDEK, update.reviewOn, row, update.record, update.fromKEK])
            } else {
                try byID.execute(arguments: [update.toKEK, update.wrappedDEK, update.reviewOn, update.record, update.fromKEK])
            }
            changed += db.changesCount
        }
        return changed
    }

    public func rekeyPage(
        afterRowID: Int64, limit: Int, _ rekey: @escaping ([KeyedRecord], [Hold]) throws -> [RecordKeyUpdate]
    ) throws -> (last: Int64?, changed: Int) {
        try sqliteWrite { db in
            // Rowid order reads the table sequentially; the writer's own cache serves the updates.
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT \(KeyedRecord.columns) FROM records WHERE rowid > ? ORDER BY rowid LIMIT ?"),
                arguments: [afterRowID, limit])
            guard !rows.isEmpty else { return (nil, 0) }
            let page = rows.map(KeyedRecord.init(row:))
            let holds = try Hold.filter(Column("released_at_ms") == nil).fetchAll(db)
            let changed = try Self.apply(db, try rekey(page, holds))
            return (page.last!.rowID, changed)
        }
    }

    // MARK: holds

    public func placeHold(_ hold: Hold, updates: [RecordKeyUpdate], event: AuditEntry, signer: AuditSigner?) throws {
        try sqliteWrite { db in
            try hold.insert(db)
            try Self.applyAll(db, updates)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func requestHoldRelease(_ requested: Hold, expected: Hold, event: AuditEntry, signer: AuditSigner?) throws {
        try sqliteWrite { db in
            try Self.requireUnchanged(db, expected)
            try requested.update(db)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func releaseHold(_ released: Hold, expected: Hold, updates: [RecordKeyUpdate], event: AuditEntry, signer: AuditSigner?) throws {
        try sqliteWrite { db in
            try Self.requireUnchanged(db, expected)
            try released.update(db)
            try Self.applyAll(db, updates)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    /// The hold must still be active and exactly as the caller read it: a release approved is
    /// the request the approver saw, not one made or replaced since.
    static func requireUnchanged(_ db: Database, _ expected: Hold) throws {
        guard let current = try Hold.fetchOne(db, key: expected.id) else {
            throw StorageError.lifecycleNotFound(what: "hold", id: expected.id)
        }
        guard current.isActive else { throw StorageError.lifecycleConflict("hold \(expected.id) was already released") }
        guard current == expected else {
            throw StorageError.lifecycleConflict("the release request of hold \(expected.id) changed meanwhile; look at it again")
        }
    }

    public func hold(id: String) throws -> Hold? {
        try guarded { try pool.read { try Hold.fetchOne($0, key: id) } }
    }

    public func activeHolds(school: String?) throws -> [Hold] {
        try guarded {
            try pool.read { db in
                var request = Hold.filter(Column("released_at_ms") == nil)
                if let school { request = request.filter(Column("school") == school) }
                return try request.order(Column("placed_at_ms")).fetchAll(db)
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
            try pool.read { db in
                try EvidenceRecord.fetchAll(db, sql: "SELECT * FROM records WHERE school = ? AND \(column) = ?", arguments: [school, target])
            }
        }
    }

    // MARK: shredding

    /// `values` in pieces of at most 500, each with its "?,?,…" for an `IN (…)` (SQLite's limit
    /// on bound parameters is far above, and statements of one size are reused from the cache).
    static func inLists(_ values: [String]) -> [(marks: String, values: [String])] {
        stride(from: 0, to: values.count, by: 500).map { start in
            let chunk = Array(values[start..<min(values.count, start + 500)])
            return (Array(repeating: "?", count: chunk.count).joined(separator: ","), chunk)
        }
    }

    public func records(ids: [String]) throws -> [EvidenceRecord] {
        try guarded {
            try pool.read { db in
                var out: [EvidenceRecord] = []
                out.reserveCapacity(ids.count)
                for (marks, chunk) in Self.inLists(ids) {
                    out += try EvidenceRecord.fetchAll(
                        db.cachedStatement(sql: "SELECT * FROM records WHERE id IN (\(marks))"), arguments: StatementArguments(chunk))
                }
                return out
            }
        }
    }

    public func createShredRequest(_ request: ShredRequest, event: AuditEntry, signer: AuditSigner?) throws {
        try sqliteWrite { db in
            // Checked again here, in the transaction that stores the request: a hold placed after
            // the vault looked must not let a request be made while a record is held.
            let held = try Self.namedBy(
                try Hold.filter(Column("released_at_ms") == nil && Column("school") == request.school).fetchAll(db),
                records: request.records, db)
            guard held.isEmpty else { throw StorageError.recordsHeld(held) }
            try request.insert(db)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    /// Which of `ids` (live records) one of `holds` names, in the order of `ids`.
    static func namedBy(_ holds: [Hold], records ids: [String], _ db: Database) throws -> [String] {
        guard !holds.isEmpty else { return [] }
        let lookup = try db.cachedStatement(sql: "SELECT \(KeyedRecord.columns) FROM records WHERE id = ?")
        var held: [String] = []
        for id in ids {
            guard let row = try Row.fetchOne(lookup, arguments: [id]) else { continue }
            let r = KeyedRecord(row: row)
            if holds.contains(where: { $0.names(school: r.school, id: r.id, child: r.child, concern: r.concern) }) { held.append(id) }
        }
        return held
    }

    public func shredRequest(id: String) throws -> ShredRequest? {
        try guarded { try pool.read { try ShredRequest.fetchOne($0, key: id) } }
    }

    public func executeShred(
        _ approved: ShredRequest, tombstones: [Tombstone], events: [AuditEntry], voided: ([String]) -> AuditEntry, signer: AuditSigner?
    ) throws -> ShredExecution {
        try withoutActuallyEscaping(voided) { voided in
            try sqliteWrite { db in
                guard let current = try ShredRequest.fetchOne(db, key: approved.id) else {
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
                let holds = try Hold.filter(
                    Column("school") == approved.school
                        && (Column("released_at_ms") == nil || Column("released_at_ms") >= current.requestedAtMillis)
                ).fetchAll(db)
                let held = try Self.namedBy(holds, records: approved.records, db)
                guard held.isEmpty else {
                    try db.execute(
                        sql: "UPDATE shred_requests SET state = ? WHERE id = ? AND state = ?",
                        arguments: [ShredRequest.State.void.rawValue, approved.id, ShredRequest.State.pending.rawValue])
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
    private static func execute(_ db: Database, _ approved: ShredRequest, tombstones: [Tombstone]) throws {
        var live: [String: (rowID: Int64, kekID: String)] = [:]
        let lookup = try db.cachedStatement(sql: "SELECT \(KeyedRecord.columns) FROM records WHERE id = ?")
        for id in approved.records {
            guard let row = try Row.fetchOne(lookup, arguments: [id]) else { continue }
            let record = KeyedRecord(row: row)
            live[id] = (record.rowID!, record.kekID)
        }
        for var tombstone in tombstones {
            // Only records still live (another request may have shredded one meanwhile), with
            // the KEK the key is under now (a rotation may have moved it since).
            guard let now = live[tombstone.record] else { continue }
            tombstone.kekID = now.kekID
            try tombstone.insert(db)
        }
        let delete = try db.cachedStatement(sql: "DELETE FROM records WHERE rowid = ?")
        for (_, record) in live { try delete.execute(arguments: [record.rowID]) }
        try removeOrphanedLabels(db)
        try approved.update(db)
    }

    public func unfinishedShreds() throws -> [ShredRequest] {
        try guarded { try pool.read { try ShredRequest.filter(Column("state") == ShredRequest.State.executing.rawValue).fetchAll($0) } }
    }

    public func tombstones(request: String) throws -> [Tombstone] {
        try guarded { try pool.read { try Tombstone.filter(Column("request") == request).order(Column("record")).fetchAll($0) } }
    }

    public func tombstone(record: String) throws -> Tombstone? {
        try guarded { try pool.read { try Tombstone.fetchOne($0, key: record) } }
    }

    public func allTombstones() throws -> [Tombstone] {
        try guarded { try pool.read { try Tombstone.order(Column("record")).fetchAll($0) } }
    }

    public func completeShred(id: String, certificate: Data, events: [AuditEntry], signer: AuditSigner?) throws {
        try sqliteWrite { db in
            try db.execute(
                sql: "UPDATE shred_requests SET state = ?, certificate = ? WHERE id = ? AND state = ?",
                arguments: [ShredRequest.State.done.rawValue, certificate, id, ShredRequest.State.executing.rawValue])
            guard db.changesCount == 1 else { throw StorageError.lifecycleConflict("shred request \(id) is not being executed") }
            _ = try self.appendLocked(db, events, signer: signer)
        }
    }

    public func purgeWriteAheadLog() throws {
        try guarded {
            // TRUNCATE waits for readers (busy timeout) and then empties the WAL file.
            try pool.writeWithoutTransaction { db in
                let result = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                if let busy: Int = result?[0], busy != 0 {
                    throw StorageError.database("the write-ahead log could not be emptied while readers were active; it will be on the next shred or close")
                }
            }
        }
    }

    // MARK: KEKs

    public func recordCountsByKEK() throws -> [String: Int] {
        try guarded {
            try pool.read { db in
                var out: [String: Int] = [:]
                let rows = try Row.fetchCursor(db, sql: "SELECT kek_id, count(*) FROM records GROUP BY kek_id")
                while let row = try rows.next() { out[row[0]] = row[1] }
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
            try sqliteWrite { db in
                // One scan, not an index on kek_id: such an index would be rewritten at random on
                // every insert and every re-wrap, which is what a rotation of a million keys costs.
                let inUse = Set(try String.fetchAll(db, sql: "SELECT DISTINCT kek_id FROM records"))
                var marked = Set<String>()
                for id in ids.sorted() {
                    if inUse.contains(id) { continue }
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO destroyed_keks (id, destroyed_at_ms, reason) VALUES (?, ?, ?)",
                        arguments: [id, self.nowMillis, reason])
                    // Only a KEK newly marked here (a second process finishing the same shred adds no event).
                    if db.changesCount == 1 { marked.insert(id) }
                }
                let entries = makeEvents(marked)
                if !entries.isEmpty { _ = try self.appendLocked(db, entries, signer: signer) }
                return marked
            }
        }
    }

    public func destroyedKEKs() throws -> Set<String> {
        try guarded { Set(try pool.read { try String.fetchAll($0, sql: "SELECT id FROM destroyed_keks") }) }
    }

    // MARK: retention

    public func dueRecords(asOf: String, schools: [String]?) throws -> [DueRecord] {
        try guarded {
            try pool.read { db in
                // The review index serves both the one-school and the every-school question (the
                // planner would otherwise pick the (school, concern) index and sort everything).
                var sql = "SELECT id, school, child, concern, kind, category, created_at_ms, review_on FROM records INDEXED BY records_by_review WHERE review_on <= ?"
                var arguments: StatementArguments = [asOf]
                if let schools {
                    sql += " AND school IN (" + schools.map { _ in "?" }.joined(separator: ",") + ")"
                    for school in schools { arguments += [school] }
                }
                sql += " ORDER BY review_on, school, id"
                var out: [DueRecord] = []
                let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
                while let row = try rows.next() {
                    out.append(DueRecord(
                        id: row[0], school: row[1], child: row[2], concern: row[3], kind: row[4], category: row[5],
                        createdAtMillis: row[6], reviewOn: row[7]))
                }
                return out
            }
        }
    }
}
