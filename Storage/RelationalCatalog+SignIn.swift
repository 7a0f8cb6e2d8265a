import Foundation
import GRDB
import KeyManagement

extension SQLiteCatalog {
    static func registerSignInMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v11-sign-in") { db in
            try db.execute(sql: """
                CREATE TABLE enrolments (
                    token_hash BLOB PRIMARY KEY, account TEXT NOT NULL, created_at_ms INTEGER NOT NULL,
                    expires_at_ms INTEGER NOT NULL, used_at_ms INTEGER, pending_passphrase TEXT, pending_totp BLOB,
                    signature BLOB NOT NULL);
                CREATE INDEX enrolments_account ON enrolments(account);
                CREATE TABLE sign_in_factors (
                    id TEXT PRIMARY KEY, account TEXT NOT NULL, kind TEXT NOT NULL, created_at_ms INTEGER NOT NULL,
                    secret BLOB NOT NULL, credential_id BLOB UNIQUE, counter INTEGER NOT NULL DEFAULT 0, used_at_ms INTEGER,
                    signature BLOB NOT NULL);
                CREATE INDEX sign_in_factors_account ON sign_in_factors(account);
                CREATE TABLE sessions (
                    id_hash BLOB PRIMARY KEY, account TEXT NOT NULL, created_at_ms INTEGER NOT NULL, factor_at_ms INTEGER NOT NULL,
                    last_seen_at_ms INTEGER NOT NULL, browser TEXT NOT NULL, address TEXT NOT NULL, signature BLOB NOT NULL);
                CREATE INDEX sessions_account ON sessions(account);
                CREATE TABLE sign_in_activity (account TEXT PRIMARY KEY, last_sign_in_ms INTEGER NOT NULL);
                """)
        }
    }
}

extension RelationalCatalog {
    public func addUser(_ user: UserAccount, enrolment: Enrolment, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            try Self.requireNameFree(db, user.name)
            try db.insert(user)
            try db.insert(enrolment)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func user(account: String) throws -> UserAccount? {
        try guarded { try quickRead { try $0.fetchOne(UserAccount.self, "SELECT * FROM users WHERE id = ?", [account]) } }
    }

    public func enrolment(tokenHash: Data) throws -> Enrolment? {
        try guarded { try read { try $0.fetchOne(Enrolment.self, "SELECT * FROM enrolments WHERE token_hash = ?", [tokenHash]) } }
    }

    public func setPendingFactors(tokenHash: Data, passphrase: String, totp: Data) throws -> Bool {
        try guarded {
            try write { db in
                try db.execute(
                    "UPDATE enrolments SET pending_passphrase = ?, pending_totp = ? WHERE token_hash = ? AND used_at_ms IS NULL",
                    [passphrase, totp, tokenHash]) == 1
            }
        }
    }

    public func completeEnrolment(tokenHash: Data, usedAtMillis: Int64, factors: [SignInFactor], event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            let used = try db.execute(
                "UPDATE enrolments SET used_at_ms = ?, pending_passphrase = NULL, pending_totp = NULL WHERE token_hash = ? AND used_at_ms IS NULL",
                [usedAtMillis, tokenHash])
            guard used == 1 else { throw StorageError.lifecycleConflict("this enrolment link has been used") }
            for factor in factors {
                if let credential = factor.credentialID,
                   try db.exists("SELECT 1 FROM sign_in_factors WHERE credential_id = ?", [credential]) {
                    throw StorageError.lifecycleConflict("this passkey is already registered")
                }
                try db.insert(factor)
            }
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func resetSignIn(account: String, enrolment: Enrolment?, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            try db.execute("DELETE FROM sign_in_factors WHERE account = ?", [account])
            try db.execute("DELETE FROM sessions WHERE account = ?", [account])
            try db.execute("DELETE FROM enrolments WHERE account = ? AND used_at_ms IS NULL", [account])
            if let enrolment { try db.insert(enrolment) }
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func factors(account: String) throws -> [SignInFactor] {
        try guarded {
            try read { try $0.fetchAll(SignInFactor.self, "SELECT * FROM sign_in_factors WHERE account = ? ORDER BY created_at_ms", [account]) }
        }
    }

    public func factor(credentialID: Data) throws -> SignInFactor? {
        try guarded {
            try read { try $0.fetchOne(SignInFactor.self, "SELECT * FROM sign_in_factors WHERE credential_id = ?", [credentialID]) }
        }
    }

    public func advanceCounter(factor id: String, to counter: Int64) throws -> Bool {
        try guarded {
            try write { try $0.execute("UPDATE sign_in_factors SET counter = ? WHERE id = ? AND counter < ?", [counter, id, counter]) == 1 }
        }
    }

    public func spendRecoveryCode(factor id: String, atMillis: Int64) throws -> Bool {
        try guarded {
            try write {
                try $0.execute(
                    "UPDATE sign_in_factors SET used_at_ms = ? WHERE id = ? AND kind = 'recovery' AND used_at_ms IS NULL",
                    [atMillis, id]) == 1
            }
        }
    }

    public func addSession(_ session: SignInSession, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            try db.insert(session)
            try db.execute("""
                INSERT INTO sign_in_activity (account, last_sign_in_ms) VALUES (?, ?)
                ON CONFLICT (account) DO UPDATE SET last_sign_in_ms = excluded.last_sign_in_ms
                """, [session.account, session.createdAtMillis])
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    /// Every signed-in request asks this: one statement.
    public func session(idHash: Data) throws -> SignInSession? {
        try guarded { try quickRead { try $0.fetchOne(SignInSession.self, "SELECT * FROM sessions WHERE id_hash = ?", [idHash]) } }
    }

    public func sessions(account: String) throws -> [SignInSession] {
        try guarded {
            try read { try $0.fetchAll(SignInSession.self, "SELECT * FROM sessions WHERE account = ? ORDER BY created_at_ms", [account]) }
        }
    }

    /// Moves the last-seen time forward only: a slower request finishing later never moves it back.
    public func touchSession(idHash: Data, atMillis: Int64) throws {
        try guarded {
            try write {
                try $0.execute("UPDATE sessions SET last_seen_at_ms = ? WHERE id_hash = ? AND last_seen_at_ms < ?", [atMillis, idHash, atMillis])
            }
        }
    }

    public func updateSession(_ session: SignInSession, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            guard try db.exists("SELECT 1 FROM sessions WHERE id_hash = ?", [session.idHash]) else {
                throw StorageError.lifecycleConflict("the session has ended")
            }
            try db.update(session, key: "id_hash")
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    @discardableResult
    public func endSessions(account: String, idHashes: [Data]?, event: AuditEntry, signer: AuditSigner?) throws -> Int {
        try auditedWrite { db in
            var ended = 0
            if let idHashes {
                for hash in idHashes {
                    ended += try db.execute("DELETE FROM sessions WHERE account = ? AND id_hash = ?", [account, hash])
                }
            } else {
                ended = try db.execute("DELETE FROM sessions WHERE account = ?", [account])
            }
            _ = try self.appendLocked(db, [event], signer: signer)
            return ended
        }
    }

    public func expiredSessions(idleBefore: Int64, startedBefore: Int64) throws -> [SignInSession] {
        try guarded {
            try read {
                try $0.fetchAll(SignInSession.self, "SELECT * FROM sessions WHERE last_seen_at_ms < ? OR created_at_ms < ?",
                                [idleBefore, startedBefore])
            }
        }
    }

    /// Whether each account with an enrolment has one still open (unused and unexpired).
    public func enrolmentStates(nowMillis: Int64) throws -> [String: Bool] {
        try guarded {
            try read { db in
                var out: [String: Bool] = [:]
                try db.forEachRow("""
                    SELECT account, MAX(CASE WHEN used_at_ms IS NULL AND expires_at_ms > ? THEN 1 ELSE 0 END) AS open
                    FROM enrolments GROUP BY account
                    """, [nowMillis]) { row in
                    out[row["account"]] = (row["open"] as Int) != 0
                }
                return out
            }
        }
    }

    public func lastSignIns() throws -> [String: Int64] {
        try guarded {
            try read { db in
                var out: [String: Int64] = [:]
                try db.forEachRow("SELECT account, last_sign_in_ms FROM sign_in_activity", []) { row in
                    out[row["account"]] = row["last_sign_in_ms"]
                }
                return out
            }
        }
    }
}
