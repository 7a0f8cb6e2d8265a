import Foundation
import GRDB
import Storage

/// What someone who can write metadata.sqlite but holds no key can do to the audit log, with
/// docs/audit.md in hand: replace it by any list of events, renumbered, re-chained and re-hashed,
/// with a tree head that matches. Tests use it to prove such a rewrite is never signed over.
public enum AuditLogRewriter {
    public static func rewrite(database path: String, vaultID: String, _ transform: (inout [AuditEvent]) -> Void) throws {
        let db = try DatabaseQueue(path: path)
        try db.write { db in
            var events = try Row.fetchAll(db, sql: "SELECT * FROM audit_events ORDER BY seq").map { row in
                AuditEvent(
                    sequence: row["seq"], timeMillis: row["time_ms"], actor: row["actor"], action: row["action"], outcome: row["outcome"],
                    school: row["school"], child: row["child"], concern: row["concern"], record: row["record"], reason: row["reason"],
                    previousHash: [UInt8](row["prev_hash"] as Data), hash: [UInt8](row["hash"] as Data))
            }
            transform(&events)
            var previous = AuditEvent.genesisHash(vaultID: vaultID)
            var frontier = TreeFrontier()
            for i in events.indices {
                events[i].sequence = Int64(i + 1)
                events[i].previousHash = previous
                events[i].hash = events[i].computedHash
                previous = events[i].hash
                frontier.append(events[i].hash)
            }
            try db.execute(sql: "DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS audit_events_no_delete")
            try db.execute(sql: "DELETE FROM audit_events")
            for e in events {
                try db.execute(
                    sql: "INSERT INTO audit_events (seq, time_ms, actor, action, outcome, school, child, concern, record, reason, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: [e.sequence, e.timeMillis, e.actor, e.action, e.outcome, e.school, e.child, e.concern, e.record, e.reason,
                                Data(e.previousHash), Data(e.hash)])
            }
            try db.execute(sql: "UPDATE audit_head SET tree_size = ?, last_hash = ?, frontier = ?",
                           arguments: [events.count, Data(previous), Data(frontier.serialized)])
        }
    }

    /// An event as a keyless process writes it (fields to be chained by `rewrite`).
    public static func event(actor: String, action: String) -> AuditEvent {
        AuditEvent(sequence: 0, timeMillis: Int64(Date().timeIntervalSince1970 * 1000), actor: actor, action: action, outcome: "ok",
                   school: nil, child: nil, concern: nil, record: nil, reason: nil, previousHash: [], hash: [])
    }
}
