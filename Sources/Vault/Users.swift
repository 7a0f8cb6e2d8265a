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

    /// Adds a user with a fresh bearer token. A revoked user's name may be reused.
    public func addUser(name: String, role: Role, schools: [String], actor: String) throws -> IssuedToken {
        let keys = try requireKeys("user add")
        return try vaulting {
            try OpaqueID.validate(name, field: "user name")
            guard !schools.isEmpty else { throw VaultError.invalidArgument("a user needs at least one school (--school)") }
            for school in schools { try OpaqueID.validate(school, field: "school id") }
            let token = Self.tokenPrefix + Hex.encode(randomPublicBytes(32))
            var user = UserAccount(
                name: name, role: role.rawValue, schools: Array(Set(schools)).sorted(), tokenHash: Self.tokenHash(token),
                createdAtMillis: nowMillis, createdBy: LogText.escape(actor))
            let signer = try keys.auditSigner()
            user.signature = Data(try signer.sign(user.signedMessage(vaultID: vaultID)))
            try catalog.addUser(
                user, event: AuditEntry(actor: actor, action: "user-add", outcome: .ok,
                                        reason: "user \(name), role \(role.rawValue), schools \(user.schools.joined(separator: " "))"),
                signer: signer)
            return IssuedToken(user: user, token: token)
        }
    }

    /// Revokes a user's token; it stops working on the next request.
    public func revokeUser(name: String, actor: String) throws {
        let keys = try requireKeys("user revoke")
        try vaulting {
            guard var user = try catalog.users().first(where: { $0.name == name }), !user.isRevoked else {
                throw StorageError.userNotFound(name)
            }
            user.revokedAtMillis = nowMillis
            let signer = try keys.auditSigner()
            user.signature = Data(try signer.sign(user.signedMessage(vaultID: vaultID)))
            try catalog.revokeUser(
                user,
                event: AuditEntry(actor: actor, action: "user-revoke", outcome: .ok, reason: "user \(LogText.escape(name))"),
                signer: signer)
        }
    }

    public func users() throws -> [UserAccount] {
        try vaulting { try catalog.users() }
    }

    /// The active user holding `token`, or nil (unknown, malformed or revoked token, or a user
    /// row that fails the vault's signature: one written into the database by someone without
    /// the master key). The token is looked up by its hash, so no secret is compared in the open.
    public func authenticate(token: String) throws -> Principal? {
        guard token.hasPrefix(Self.tokenPrefix), token.utf8.count == Self.tokenPrefix.utf8.count + 64 else { return nil }
        guard let user = try vaulting({ try catalog.user(tokenHash: Self.tokenHash(token)) }), !user.isRevoked,
              let role = Role(rawValue: user.role),
              verifiedUserRow(user) else { return nil }
        return Principal(name: user.name, role: role, schools: Set(user.schools))
    }

    /// Whether a user row carries the vault's signature. A row verified once is remembered by its
    /// exact signed bytes, so a changed row (a revocation, an edit) is checked again.
    func verifiedUserRow(_ user: UserAccount) -> Bool {
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
}
