import Foundation
import GRDB

/// Sign-in's short-lived state, shared by every node (docs/storage-postgres.md, "Sign-in
/// state"): outstanding passkey challenges, and counts of wrong guesses per name and address.
/// The embedded store keeps the same in its one process's memory.
///
/// None of it is evidence or the record: these writes take no turn on the audit log's head
/// and do not wait for the commit to reach disk (a database crash may forget the last moments'
/// challenges or counts: a ceremony is begun again, a guess counted once less). Sweeps skip
/// rows another transaction holds, so they never wait on, or deadlock with, a sign-in.
extension PostgresCatalog {
    /// Keeps `challenge` for `context` until `expiresMillis`, replacing any it held. A
    /// challenge anyone may ask for names its `source`: false when `source` has `perSource`
    /// unexpired ones outstanding, or all sources together `capacity` (checked without a lock:
    /// nodes asking at the same moment may pass the bounds by a few).
    public func putChallenge(_ challenge: [UInt8], context: String, source: String?, expiresMillis: Int64, nowMillis: Int64,
                             capacity: Int, perSource: Int) throws -> Bool {
        try guarded {
            try scratchWrite { sql in
                try Self.deleteExpiredChallenges(sql, nowMillis)
                if let source {
                    let row = try sql.row("""
                        SELECT count(*) FILTER (WHERE source IS NOT NULL) AS everyone, count(*) FILTER (WHERE source = ?) AS this_one
                        FROM sign_in_challenges WHERE context <> ?
                        """, [source, context])
                    let everyone: Int64 = row?["everyone"] ?? 0, thisOne: Int64 = row?["this_one"] ?? 0
                    if everyone >= Int64(capacity) || thisOne >= Int64(perSource) { return false }
                }
                try sql.execute("""
                    INSERT INTO sign_in_challenges (context, challenge, expires_ms, source) VALUES (?, ?, ?, ?)
                    ON CONFLICT (context) DO UPDATE SET challenge = excluded.challenge, expires_ms = excluded.expires_ms, source = excluded.source
                    """, [context, Data(challenge), expiresMillis, source])
                return true
            }
        }
    }

    /// Removes the challenge for `context` and returns it if it had not expired. One statement:
    /// of two nodes taking the same challenge, one gets it.
    public func takeChallenge(context: String, nowMillis: Int64) throws -> [UInt8]? {
        try guarded {
            try scratchWrite { sql in
                guard let row = try sql.row("DELETE FROM sign_in_challenges WHERE context = ? RETURNING challenge, expires_ms", [context]),
                      (row["expires_ms"] as Int64) > nowMillis else { return nil }
                return [UInt8](row["challenge"] as Data)
            }
        }
    }

    public func sweepChallenges(nowMillis: Int64) throws {
        try guarded { try scratchWrite { try Self.deleteExpiredChallenges($0, nowMillis) } }
    }

    private static func deleteExpiredChallenges(_ sql: any CatalogSQL, _ nowMillis: Int64) throws {
        try sql.execute("""
            DELETE FROM sign_in_challenges WHERE context IN
                (SELECT context FROM sign_in_challenges WHERE expires_ms <= ? FOR UPDATE SKIP LOCKED)
            """, [nowMillis])
    }

    /// In one transaction, taking each key's row lock in one order (so nodes counting the same
    /// keys queue rather than deadlock): reads the counts of `keys` (an attempt holding a key
    /// counts if begun since `pendingSinceMillis`; a key with neither failures nor such an
    /// attempt is absent) and passes them to `decide`; when it returns nil, marks `claim` as
    /// held by an attempt begun at `atMillis`. A refused attempt leaves no row behind.
    public func reserveAttempt(keys: [Data], claim: Data?, atMillis: Int64, pendingSinceMillis: Int64,
                               decide: ([Data: (failures: Int, lastMillis: Int64, underWay: Bool)]) -> Int?) throws -> Int? {
        try guarded {
            try scratchWrite { sql in
                var counts: [Data: (failures: Int, lastMillis: Int64, underWay: Bool)] = [:]
                var created = false
                for key in Self.lockOrder(keys) {
                    // The claimed key's row is made if missing, so that it can be locked: two
                    // first attempts for one name then take turns too.
                    if key == claim {
                        created = try sql.row("""
                            INSERT INTO sign_in_failures (key, failures, last_ms) VALUES (?, 0, ?)
                            ON CONFLICT (key) DO NOTHING RETURNING key
                            """, [key, atMillis]) != nil
                    }
                    guard let row = try sql.row("SELECT failures, last_ms, pending, pending_ms FROM sign_in_failures WHERE key = ? FOR UPDATE", [key]) else { continue }
                    let failures: Int64 = row["failures"], pending: Int64 = row["pending"], pendingMillis: Int64 = row["pending_ms"]
                    let underWay = pending > 0 && pendingMillis >= pendingSinceMillis
                    if failures > 0 || underWay { counts[key] = (Int(failures), row["last_ms"], underWay) }
                }
                if let wait = decide(counts) {
                    if created, let claim { try sql.execute("DELETE FROM sign_in_failures WHERE key = ?", [claim]) }
                    return wait
                }
                if let claim {
                    try sql.execute("UPDATE sign_in_failures SET pending = 1, pending_ms = ? WHERE key = ?", [atMillis, claim])
                }
                return nil
            }
        }
    }

    /// One more failure at `atMillis` for each of `keys`, in the order `reserveAttempt` locks
    /// them; `release` is no longer held.
    public func failAttempt(keys: [Data], release: Data?, atMillis: Int64) throws {
        try guarded {
            try scratchWrite { sql in
                for key in Self.lockOrder(keys) {
                    try sql.execute("""
                        INSERT INTO sign_in_failures (key, failures, last_ms) VALUES (?, 1, ?)
                        ON CONFLICT (key) DO UPDATE SET failures = sign_in_failures.failures + 1,
                            last_ms = GREATEST(sign_in_failures.last_ms, excluded.last_ms),
                            pending = CASE WHEN ? = 1 THEN 0 ELSE sign_in_failures.pending END
                        """, [key, atMillis, key == release ? 1 : 0])
                }
            }
        }
    }

    public func clearFailures(key: Data) throws {
        try guarded { try scratchWrite { try $0.execute("DELETE FROM sign_in_failures WHERE key = ?", [key]) } }
    }

    /// Forgets counts with neither a failure nor an attempt since `forgetBeforeMillis`, then the
    /// oldest beyond `capacity`.
    public func sweepFailures(forgetBeforeMillis: Int64, capacity: Int) throws {
        try guarded {
            try scratchWrite { sql in
                try sql.execute("""
                    DELETE FROM sign_in_failures WHERE key IN
                        (SELECT key FROM sign_in_failures WHERE GREATEST(last_ms, pending_ms) < ? FOR UPDATE SKIP LOCKED)
                    """, [forgetBeforeMillis])
                let count = try sql.value(Int64.self, "SELECT count(*) AS n FROM sign_in_failures") ?? 0
                if count > Int64(capacity) {
                    try sql.execute("""
                        DELETE FROM sign_in_failures WHERE key IN
                            (SELECT key FROM sign_in_failures ORDER BY GREATEST(last_ms, pending_ms) LIMIT ? FOR UPDATE SKIP LOCKED)
                        """, [count - Int64(capacity)])
                }
            }
        }
    }

    private static func lockOrder(_ keys: [Data]) -> [Data] {
        Set(keys).sorted { $0.lexicographicallyPrecedes($1) }
    }
}
