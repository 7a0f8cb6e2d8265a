import Foundation
import GRDB

/// Sign-in's short-lived state, shared by every node (docs/storage-postgres.md, "Sign-in
/// state"): outstanding passkey challenges, and counts of wrong guesses per name and address.
/// The embedded store keeps the same in its one process's memory.
///
/// None of it is evidence or the record: these writes take no turn on the audit log's head
/// and do not wait for the commit to reach disk (a database crash may forget the last moments'
/// challenges or counts: a ceremony is begun again, a guess counted once less).
extension PostgresCatalog {
    /// Keeps `challenge` for `context` until `expiresMillis`, replacing any it held. False when
    /// `context` holds none and `capacity` unexpired challenges are outstanding.
    public func putChallenge(_ challenge: [UInt8], context: String, expiresMillis: Int64, nowMillis: Int64, capacity: Int) throws -> Bool {
        try guarded {
            try scratchWrite { sql in
                try sql.execute("DELETE FROM sign_in_challenges WHERE expires_ms <= ?", [nowMillis])
                if try !sql.exists("SELECT 1 FROM sign_in_challenges WHERE context = ?", [context]),
                   try (sql.value(Int64.self, "SELECT count(*) AS n FROM sign_in_challenges") ?? 0) >= Int64(capacity) {
                    return false
                }
                try sql.execute("""
                    INSERT INTO sign_in_challenges (context, challenge, expires_ms) VALUES (?, ?, ?)
                    ON CONFLICT (context) DO UPDATE SET challenge = excluded.challenge, expires_ms = excluded.expires_ms
                    """, [context, Data(challenge), expiresMillis])
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

    /// Wrong guesses counted against each of `keys`: how many, and when the last was.
    public func failureCounts(keys: [Data]) throws -> [Data: (failures: Int, lastMillis: Int64)] {
        guard !keys.isEmpty else { return [:] }
        return try guarded {
            try quickRead { sql in
                var counts: [Data: (failures: Int, lastMillis: Int64)] = [:]
                for row in try sql.rows("SELECT key, failures, last_ms FROM sign_in_failures WHERE key IN (\(placeholders(keys.count)))",
                                        keys.map { $0 }) {
                    counts[row["key"]] = (Int(row["failures"] as Int64), row["last_ms"])
                }
                return counts
            }
        }
    }

    /// Counts one more wrong guess against each of `keys` (in one order, so that two nodes
    /// counting the same keys at once queue rather than deadlock).
    public func addFailure(keys: [Data], atMillis: Int64) throws {
        try guarded {
            try scratchWrite { sql in
                for key in Set(keys).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                    try sql.execute("""
                        INSERT INTO sign_in_failures (key, failures, last_ms) VALUES (?, 1, ?)
                        ON CONFLICT (key) DO UPDATE SET failures = sign_in_failures.failures + 1,
                            last_ms = GREATEST(sign_in_failures.last_ms, excluded.last_ms)
                        """, [key, atMillis])
                }
            }
        }
    }

    public func clearFailures(key: Data) throws {
        try guarded { try scratchWrite { try $0.execute("DELETE FROM sign_in_failures WHERE key = ?", [key]) } }
    }

    public func sweepChallenges(nowMillis: Int64) throws {
        try guarded { try scratchWrite { try $0.execute("DELETE FROM sign_in_challenges WHERE expires_ms <= ?", [nowMillis]) } }
    }

    /// Forgets counts whose last guess was before `forgetBeforeMillis`, then the oldest beyond
    /// `capacity`.
    public func sweepFailures(forgetBeforeMillis: Int64, capacity: Int) throws {
        try guarded {
            try scratchWrite { sql in
                try sql.execute("DELETE FROM sign_in_failures WHERE last_ms < ?", [forgetBeforeMillis])
                let count = try sql.value(Int64.self, "SELECT count(*) AS n FROM sign_in_failures") ?? 0
                if count > Int64(capacity) {
                    try sql.execute("""
                        DELETE FROM sign_in_failures WHERE key IN
                            (SELECT key FROM sign_in_failures ORDER BY last_ms LIMIT ?)
                        """, [count - Int64(capacity)])
                }
            }
        }
    }
}
