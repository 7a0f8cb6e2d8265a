import Foundation
import KeyManagement
import Storage

/// A new user's bearer token: shown once, never stored (only its SHA-256 is).
public struct IssuedToken: Sendable {
    public let user: UserAccount
    public let token: String
}

extension Vault {
    static let tokenPrefix = "srt_"

    func addUser(name: String, role: Role, schools: [String], by caller: Caller) throws -> IssuedToken {
        try requireOperator(caller, .userAdd)
        let actor = caller.actor
        let keys = try requireKeys("user add")
        return try vaulting {
            try OpaqueID.validate(name, field: "user name")
            guard !schools.isEmpty else { throw VaultError.invalidArgument("a user needs at least one school (--school)") }
            for school in schools { try OpaqueID.validate(school, field: "school id") }
            let token = Self.tokenPrefix + Hex.encode(randomPublicBytes(32))
            var user = UserAccount(
                name: name, role: role.rawValue, schools: Array(Set(schools)).sorted(), tokenHash: Self.tokenHash(token),
                createdAtMillis: nowMillis, createdBy: LogText.escape(actor.description))
            let signer = try keys.auditSigner()
            user.signature = Data(try signer.sign(user.signedMessage(vaultID: vaultID)))
            try catalog.addUser(
                user, event: AuditEntry(actor: actor, action: .userAdd, outcome: .ok,
                                        reason: "user \(name) (account \(user.id)), role \(role.rawValue), schools \(user.schools.joined(separator: " "))"),
                signer: signer)
            return IssuedToken(user: user, token: token)
        }
    }

    func revokeUser(name: String, by caller: Caller) throws {
        try requireOperator(caller, .userRevoke)
        let actor = caller.actor
        let keys = try requireKeys("user revoke")
        try vaulting {
            guard var user = try catalog.users().first(where: { $0.name == name && !$0.isRevoked }) else {
                throw StorageError.userNotFound(name)
            }
            // Signing a revoked row is safe whatever it held before: a revoked account grants nothing.
            user.revokedAtMillis = nowMillis
            user.signatureFormat = UserAccount.signatureFormat
            let signer = try keys.auditSigner()
            user.signature = Data(try signer.sign(user.signedMessage(vaultID: vaultID)))
            try catalog.revokeUser(
                user,
                event: AuditEntry(actor: actor, action: .userRevoke, outcome: .ok, reason: "user \(LogText.escape(name)) (account \(user.id))"),
                signer: signer)
        }
    }

    func users(by caller: Caller) throws -> [UserAccount] {
        try requireOperator(caller, .userAdd)
        return try vaulting { try catalog.users() }
    }

    func authenticate(token: String) throws -> Principal? {
        guard token.hasPrefix(Self.tokenPrefix), token.utf8.count == Self.tokenPrefix.utf8.count + 64 else { return nil }
        guard let user = try vaulting({ try catalog.user(tokenHash: Self.tokenHash(token)) }), !user.isRevoked,
              let role = Role(rawValue: user.role),
              verifiedUserRow(user) else { return nil }
        return Principal(name: user.name, role: role, schools: Set(user.schools), account: user.id)
    }

    /// Whether a user row carries the vault's signature over its current format, the account id
    /// included. A row verified once is remembered by its exact signed bytes, so a changed row
    /// (a revocation, an edit) is checked again.
    func verifiedUserRow(_ user: UserAccount) -> Bool {
        guard user.signatureFormat == UserAccount.signatureFormat, UserAccount.isValidID(user.id) else { return false }
        let message = user.signedMessage(vaultID: vaultID)
        let key = Data(message) + user.signature
        if verifiedRowsLock.withLock({ verifiedRows.contains(key) }) { return true }
        guard publicKey.verify(signature: Array(user.signature), message: message) else { return false }
        verifiedRowsLock.withLock {
            if verifiedRows.count > 10_000 { verifiedRows.removeAll() }
            verifiedRows.insert(key)
        }
        return true
    }

    static func tokenHash(_ token: String) -> Data { Data(SHA256Hasher.hash(Array(token.utf8))) }

    /// Re-signs, with their account ids, the user rows written before accounts had ids (format
    /// 1), which nothing honours until then. Runs when the store is opened with its master key.
    /// A row is re-signed only if its old signature holds and its id is the one the migration
    /// derived from that signature: someone who could write the database in between cannot have
    /// a forged row blessed, nor give a real one another account's id (and its uploads).
    @discardableResult
    func upgradeUserSignatures() throws -> Int {
        guard let keys = keyStore, try vaulting({ try catalog.users() }).contains(where: { $0.signatureFormat == 1 }) else {
            return 0
        }
        let signer = try keys.auditSigner()
        return try vaulting {
            try catalog.upgradeUserSignatures({ old in
                var resigned: [UserAccount] = []
                for var user in old {
                    guard user.signatureFormat == 1, user.id == UserAccount.migratedID(signature: user.signature),
                          publicKey.verify(signature: Array(user.signature), message: user.legacySignedMessage(vaultID: vaultID)) else { continue }
                    user.signatureFormat = UserAccount.signatureFormat
                    user.signature = Data(try signer.sign(user.signedMessage(vaultID: vaultID)))
                    resigned.append(user)
                }
                let refused = old.count - resigned.count
                let names = resigned.map { "\($0.name) (account \($0.id))" }.joined(separator: ", ")
                return (resigned, AuditEntry(
                    actor: .system, action: .userMigrate, outcome: refused == 0 ? .ok : .failed,
                    reason: "\(resigned.count) user rows re-signed with their account ids\(names.isEmpty ? "" : ": " + names)"
                        + (refused == 0 ? "" : "; \(refused) left unsigned (their signature or id did not hold): refused for good")))
            }, signer: signer)
        }
    }
}
