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

    /// In one transaction: locks the counts of `keys` (made at zero when missing, always in
    /// one order, so nodes counting the same keys queue rather than deadlock), drops attempts
    /// under way begun before `pendingSinceMillis`, passes each key's failures and attempts under
    /// way together, with the latest of their times, to `decide`, and when it returns nil
    /// counts an attempt under way begun at `atMillis` on each.
    public func reserveAttempt(keys: [Data], atMillis: Int64, pendingSinceMillis: Int64,
                               decide: ([Data: (failures: Int, lastMillis: Int64)]) -> Int?) throws -> Int? {
        let keys = Self.lockOrder(keys)
        guard !keys.isEmpty else { return decide([:]) }
        return try guarded {
            try scratchWrite { sql in
                for key in keys {
                    try sql.execute("INSERT INTO sign_in_failures (key, failures, last_ms) VALUES (?, 0, ?) ON CONFLICT (key) DO NOTHING",
                                    [key, atMillis])
                }
                let inKeys = "key IN (\(placeholders(keys.count)))"
                try sql.execute("UPDATE sign_in_failures SET pending = 0 WHERE \(inKeys) AND pending > 0 AND pending_ms < ?",
                                keys.map { $0 } + [pendingSinceMillis])
                var counts: [Data: (failures: Int, lastMillis: Int64)] = [:]
                for row in try sql.rows("SELECT key, failures, last_ms, pending, pending_ms FROM sign_in_failures WHERE \(inKeys) ORDER BY key FOR UPDATE",
                                        keys.map { $0 }) {
                    let failures: Int64 = row["failures"], pending: Int64 = row["pending"]
                    guard failures + pending > 0 else { continue }
                    let last: Int64 = row["last_ms"], pendingMillis: Int64 = row["pending_ms"]
                    counts[row["key"]] = (Int(failures + pending), pending > 0 ? max(last, pendingMillis) : last)
                }
                if let wait = decide(counts) { return wait }
                try sql.execute("UPDATE sign_in_failures SET pending = pending + 1, pending_ms = GREATEST(pending_ms, ?) WHERE \(inKeys)",
                                [atMillis] + keys.map { $0 })
                return nil
            }
        }
    }

    /// An attempt under way on each of `keys` failed at `atMillis`.
    public func failAttempt(keys: [Data], atMillis: Int64) throws {
        let keys = Self.lockOrder(keys)
        guard !keys.isEmpty else { return }
        try guarded {
            try scratchWrite { sql in
                for key in keys {
                    try sql.execute("""
                        INSERT INTO sign_in_failures (key, failures, last_ms) VALUES (?, 1, ?)
                        ON CONFLICT (key) DO UPDATE SET failures = sign_in_failures.failures + 1,
                            pending = GREATEST(sign_in_failures.pending - 1, 0), last_ms = GREATEST(sign_in_failures.last_ms, excluded.last_ms)
                        """, [key, atMillis])
                }
            }
        }
    }

    /// Deletes `clear`'s count and lets go of an attempt under way on `release`, locking them
    /// in the order `reserveAttempt` does.
    public func settleAttempt(clear: Data?, release: Data) throws {
        try guarded {
            try scratchWrite { sql in
                for key in Self.lockOrder([clear, release].compactMap { $0 }) {
                    if key == clear {
                        try sql.execute("DELETE FROM sign_in_failures WHERE key = ?", [key])
                    } else {
                        try sql.execute("UPDATE sign_in_failures SET pending = GREATEST(pending - 1, 0) WHERE key = ?", [key])
                    }
                }
            }
        }
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
