import Foundation
import GRDB
import KeyManagement

/// A person added over the web with a role that reads or governs a school's safeguarding
/// records (DSL, deputy, DPO, administrator), waiting for a second person to agree
/// (migration `v15-role-approvals`, docs/people.md).
///
/// The row holds the hash of the enrolment link the administrator was shown, but no enrolment
/// row exists until the approval: the vault signs and stores the link's `Enrolment` only then.
/// So a row changed or deleted by someone who can write the database but not sign (a forged
/// "approved", a deleted request) enrols nobody: without the vault's signed enrolment row the
/// link stays dead, whatever this row says.
public struct RoleApproval: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "role_approvals"

    public enum State: String, Sendable, Codable {
        case pending, approved, declined
    }

    /// The new person's account.
    public var account: String
    /// SHA-256 of the enrolment link's token, which becomes the signed enrolment at approval.
    public var tokenHash: Data
    /// Who asked (an audit actor) and their account: they may not approve it themselves.
    public var requestedBy: String
    public var requestedAccount: String
    public var requestedAtMillis: Int64
    public var state: State
    public var decidedBy: String?
    public var decidedAccount: String?
    public var decidedAtMillis: Int64?

    enum CodingKeys: String, CodingKey {
        case account, tokenHash = "token_hash", requestedBy = "requested_by", requestedAccount = "requested_account"
        case requestedAtMillis = "requested_at_ms", state, decidedBy = "decided_by", decidedAccount = "decided_account"
        case decidedAtMillis = "decided_at_ms"
    }

    public init(account: String, tokenHash: Data, requestedBy: String, requestedAccount: String, requestedAtMillis: Int64) {
        self.account = account
        self.tokenHash = tokenHash
        self.requestedBy = requestedBy
        self.requestedAccount = requestedAccount
        self.requestedAtMillis = requestedAtMillis
        self.state = .pending
    }
}

/// The part of the catalog that people administration works on: role approvals and removing
/// a recipient from a school's directory.
public protocol PeopleCatalog: Sendable {
    /// Adds a person whose enrolment waits for a second person: the user row, the pending
    /// approval and the audit event in one transaction (`userExists` if the name is active).
    func addPendingPerson(_ user: UserAccount, approval: RoleApproval, event: AuditEntry, signer: AuditSigner?) throws
    func roleApproval(account: String) throws -> RoleApproval?
    func roleApproval(tokenHash: Data) throws -> RoleApproval?
    /// Every request still pending, oldest first.
    func pendingRoleApprovals() throws -> [RoleApproval]
    /// Marks a pending request approved and stores the signed enrolment that makes its link
    /// work, with the audit event; `lifecycleConflict` when it is no longer pending.
    func approveRole(_ approved: RoleApproval, enrolment: Enrolment, event: AuditEntry, signer: AuditSigner?) throws
    /// Marks a pending request declined and stores the person's signed, revoked row, with the
    /// audit event; `lifecycleConflict` when it is no longer pending.
    func declineRole(_ declined: RoleApproval, revoked: UserAccount, event: AuditEntry, signer: AuditSigner?) throws
    /// Sets (or, with nil, removes) the address a person's alerts go to.
    func setPersonEmail(account: String, address: String?) throws
    /// Every person's alert address, by account.
    func personEmails() throws -> [String: String]
    /// Removes a recipient from its school's directory with the audit event; false when there
    /// was none of that name.
    func removeRecipient(school: String, name: String, event: AuditEntry, signer: AuditSigner?) throws -> Bool
}

extension SQLiteCatalog {
    static func registerRoleApprovalMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v15-role-approvals") { db in
            try db.execute(sql: """
                CREATE TABLE role_approvals (
                    account TEXT PRIMARY KEY NOT NULL, token_hash BLOB NOT NULL UNIQUE,
                    requested_by TEXT NOT NULL, requested_account TEXT NOT NULL, requested_at_ms INTEGER NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'declined')),
                    decided_by TEXT, decided_account TEXT, decided_at_ms INTEGER);
                CREATE INDEX role_approvals_pending ON role_approvals (state, requested_at_ms);
                -- An address for alerts, kept apart from the signed user row: it grants nothing,
                -- and changing it needs no signature.
                CREATE TABLE person_emails (account TEXT PRIMARY KEY NOT NULL, address TEXT NOT NULL);
                """)
        }
    }
}

extension RelationalCatalog {
    public func addPendingPerson(_ user: UserAccount, approval: RoleApproval, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            try Self.requireNameFree(db, user.name)
            try db.insert(user)
            try db.insert(approval)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func roleApproval(account: String) throws -> RoleApproval? {
        try guarded { try read { try $0.fetchOne(RoleApproval.self, "SELECT * FROM role_approvals WHERE account = ?", [account]) } }
    }

    public func roleApproval(tokenHash: Data) throws -> RoleApproval? {
        try guarded { try read { try $0.fetchOne(RoleApproval.self, "SELECT * FROM role_approvals WHERE token_hash = ?", [tokenHash]) } }
    }

    public func pendingRoleApprovals() throws -> [RoleApproval] {
        try guarded {
            try read {
                try $0.fetchAll(RoleApproval.self, "SELECT * FROM role_approvals WHERE state = ? ORDER BY requested_at_ms",
                                [RoleApproval.State.pending.rawValue])
            }
        }
    }

    public func approveRole(_ approved: RoleApproval, enrolment: Enrolment, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            try Self.decidePending(db, approved)
            try db.insert(enrolment)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func declineRole(_ declined: RoleApproval, revoked: UserAccount, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            try Self.decidePending(db, declined)
            guard revoked.isRevoked, let user = try db.fetchOne(UserAccount.self, "SELECT * FROM users WHERE id = ?", [revoked.id]),
                  !user.isRevoked else {
                throw StorageError.lifecycleConflict("this person's access has already been removed")
            }
            try db.update(revoked, key: "id")
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    /// Moves a request from pending to its decision, or refuses when someone else decided first.
    private static func decidePending(_ db: any CatalogSQL, _ decided: RoleApproval) throws {
        let changed = try db.execute(
            """
            UPDATE role_approvals SET state = ?, decided_by = ?, decided_account = ?, decided_at_ms = ?
            WHERE account = ? AND state = 'pending'
            """,
            [decided.state.rawValue, decided.decidedBy, decided.decidedAccount, decided.decidedAtMillis, decided.account])
        guard changed == 1 else { throw StorageError.lifecycleConflict("this request has already been decided") }
    }

    public func setPersonEmail(account: String, address: String?) throws {
        try guarded {
            try write { db in
                if let address {
                    try db.execute("""
                        INSERT INTO person_emails (account, address) VALUES (?, ?)
                        ON CONFLICT (account) DO UPDATE SET address = excluded.address
                        """, [account, address])
                } else {
                    try db.execute("DELETE FROM person_emails WHERE account = ?", [account])
                }
            }
        }
    }

    public func personEmails() throws -> [String: String] {
        try guarded {
            try read { db in
                var out: [String: String] = [:]
                try db.forEachRow("SELECT account, address FROM person_emails", []) { row in out[row["account"]] = row["address"] }
                return out
            }
        }
    }

    public func removeRecipient(school: String, name: String, event: AuditEntry, signer: AuditSigner?) throws -> Bool {
        try auditedWrite { db in
            guard try db.execute("DELETE FROM recipients WHERE school = ? AND name = ?", [school, name]) == 1 else { return false }
            _ = try self.appendLocked(db, [event], signer: signer)
            return true
        }
    }
}
