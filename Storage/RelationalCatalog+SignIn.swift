import Foundation
import GRDB
import KeyManagement

extension SQLiteCatalog: SignInCatalog {
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

    public func addUser(_ user: UserAccount, enrolment: Enrolment, event: AuditEntry, signer: AuditSigner?) throws {
        try sqliteWrite { db in
            if try UserAccount.filter(Column("name") == user.name && Column("revoked_at_ms") == nil).fetchCount(db) > 0 {
                throw StorageError.userExists(user.name)
            }
            try user.insert(db)
            try enrolment.insert(db)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func user(account: String) throws -> UserAccount? {
        try guarded {
            try pool.unsafeRead { db in
                try UserAccount.fetchOne(db.cachedStatement(sql: "SELECT * FROM users WHERE id = ?"), arguments: [account])
            }
        }
    }

    public func enrolment(tokenHash: Data) throws -> Enrolment? {
        try guarded { try pool.read { try Enrolment.fetchOne($0, key: ["token_hash": tokenHash]) } }
    }

    public func setPendingFactors(tokenHash: Data, passphrase: String, totp: Data) throws -> Bool {
        try guarded {
            try pool.write { db in
                try db.execute(
                    sql: "UPDATE enrolments SET pending_passphrase = ?, pending_totp = ? WHERE token_hash = ? AND used_at_ms IS NULL",
                    arguments: [passphrase, totp, tokenHash])
                return db.changesCount == 1
            }
        }
    }

    public func completeEnrolment(tokenHash: Data, usedAtMillis: Int64, factors: [SignInFactor], event: AuditEntry, signer: AuditSigner?) throws {
        try sqliteWrite { db in
            try db.execute(
                sql: "UPDATE enrolments SET used_at_ms = ?, pending_passphrase = NULL, pending_totp = NULL WHERE token_hash = ? AND used_at_ms IS NULL",
                arguments: [usedAtMillis, tokenHash])
            guard db.changesCount == 1 else { throw StorageError.lifecycleConflict("this enrolment link has been used") }
            for factor in factors {
                if let credential = factor.credentialID,
                   try SignInFactor.filter(Column("credential_id") == credential).fetchCount(db) > 0 {
                    throw StorageError.lifecycleConflict("this passkey is already registered")
                }
                try factor.insert(db)
            }
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func resetSignIn(account: String, enrolment: Enrolment?, event: AuditEntry, signer: AuditSigner?) throws {
        try sqliteWrite { db in
            try db.execute(sql: "DELETE FROM sign_in_factors WHERE account = ?", arguments: [account])
            try db.execute(sql: "DELETE FROM sessions WHERE account = ?", arguments: [account])
            try db.execute(sql: "DELETE FROM enrolments WHERE account = ? AND used_at_ms IS NULL", arguments: [account])
            try enrolment?.insert(db)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func factors(account: String) throws -> [SignInFactor] {
        try guarded { try pool.read { try SignInFactor.filter(Column("account") == account).order(Column("created_at_ms")).fetchAll($0) } }
    }

    public func factor(credentialID: Data) throws -> SignInFactor? {
        try guarded { try pool.read { try SignInFactor.filter(Column("credential_id") == credentialID).fetchOne($0) } }
    }

    public func advanceCounter(factor id: String, to counter: Int64) throws -> Bool {
        try guarded {
            try pool.write { db in
                try db.execute(sql: "UPDATE sign_in_factors SET counter = ? WHERE id = ? AND counter < ?", arguments: [counter, id, counter])
                return db.changesCount == 1
            }
        }
    }

    public func spendRecoveryCode(factor id: String, atMillis: Int64) throws -> Bool {
        try guarded {
            try pool.write { db in
                try db.execute(
                    sql: "UPDATE sign_in_factors SET used_at_ms = ? WHERE id = ? AND kind = 'recovery' AND used_at_ms IS NULL",
                    arguments: [atMillis, id])
                return db.changesCount == 1
            }
        }
    }

    public func addSession(_ session: SignInSession, event: AuditEntry, signer: AuditSigner?) throws {
        try sqliteWrite { db in
            try session.insert(db)
            try db.execute(
                sql: "INSERT OR REPLACE INTO sign_in_activity (account, last_sign_in_ms) VALUES (?, ?)",
                arguments: [session.account, session.createdAtMillis])
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func session(idHash: Data) throws -> SignInSession? {
        try guarded {
            try pool.unsafeRead { db in
                try SignInSession.fetchOne(db.cachedStatement(sql: "SELECT * FROM sessions WHERE id_hash = ?"), arguments: [idHash])
            }
        }
    }

    public func sessions(account: String) throws -> [SignInSession] {
        try guarded { try pool.read { try SignInSession.filter(Column("account") == account).order(Column("created_at_ms")).fetchAll($0) } }
    }

    public func touchSession(idHash: Data, atMillis: Int64) throws {
        try guarded {
            try pool.write { db in
                try db.execute(sql: "UPDATE sessions SET last_seen_at_ms = MAX(last_seen_at_ms, ?) WHERE id_hash = ?", arguments: [atMillis, idHash])
            }
        }
    }

    public func updateSession(_ session: SignInSession, event: AuditEntry, signer: AuditSigner?) throws {
        try sqliteWrite { db in
            guard try SignInSession.fetchOne(db, key: ["id_hash": session.idHash]) != nil else {
                throw StorageError.lifecycleConflict("the session has ended")
            }
            try session.update(db)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    @discardableResult
    public func endSessions(account: String, idHashes: [Data]?, event: AuditEntry, signer: AuditSigner?) throws -> Int {
        try sqliteWrite { db in
            var ended = 0
            if let idHashes {
                for hash in idHashes {
                    try db.execute(sql: "DELETE FROM sessions WHERE account = ? AND id_hash = ?", arguments: [account, hash])
                    ended += db.changesCount
                }
            } else {
                try db.execute(sql: "DELETE FROM sessions WHERE account = ?", arguments: [account])
                ended = db.changesCount
            }
            _ = try self.appendLocked(db, [event], signer: signer)
            return ended
        }
    }

    public func expiredSessions(idleBefore: Int64, startedBefore: Int64) throws -> [SignInSession] {
        try guarded {
            try pool.read {
                try SignInSession.fetchAll($0, sql: "SELECT * FROM sessions WHERE last_seen_at_ms < ? OR created_at_ms < ?",
                                          arguments: [idleBefore, startedBefore])
            }
        }
    }

    public func enrolmentStates(nowMillis: Int64) throws -> [String: Bool] {
        try guarded {
            try pool.read { db in
                var out: [String: Bool] = [:]
                for row in try Row.fetchAll(db, sql: """
                    SELECT account, MAX(used_at_ms IS NULL AND expires_at_ms > ?) AS open FROM enrolments GROUP BY account
                    """, arguments: [nowMillis]) {
                    out[row["account"]] = row["open"] as Bool
                }
                return out
            }
        }
    }

    public func lastSignIns() throws -> [String: Int64] {
        try guarded {
            try pool.read { db in
                var out: [String: Int64] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT account, last_sign_in_ms FROM sign_in_activity") {
                    out[row["account"]] = row["last_sign_in_ms"]
                }
                return out
            }
        }
    }
}
