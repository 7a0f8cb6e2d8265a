import Foundation
import GRDB
import KeyManagement

/// A person who reaches the vault over HTTP. Only a hash of their bearer token is kept; the
/// token itself is shown once, when the user is added. Schools are opaque ids.
///
/// An account is its `id`, not its name: a name revoked and added again is a new account with a
/// new id, and what belonged to the old one (its uploads, its requests) stays with the old one.
/// Revoked accounts keep their row, so an id is never given out twice.
public struct UserAccount: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "users"
    /// What `signature` covers: 2 the message with the account id; 1 the message without it
    /// (rows written before migration `v8-account-ids`, honoured by nothing until a process with
    /// the master key re-signs them); 0 a format-1 row that process refused to re-sign (its
    /// signature or its id did not hold), honoured by nothing, ever.
    public static let signatureFormat = 2

    /// 16 lowercase hex digits: random for a new account, derived from the old signature for an
    /// account that existed before ids (`migratedID(signature:)`).
    public var id: String
    public var name: String
    public var role: String
    public var schools: [String]
    public var tokenHash: Data
    public var createdAtMillis: Int64
    public var createdBy: String
    public var revokedAtMillis: Int64?
    /// The vault's Ed25519 signature over `signedMessage(vaultID:)`: only someone holding the
    /// master key can add a user or change one, not someone who can merely write the database.
    public var signature: Data
    public var signatureFormat: Int

    public var isRevoked: Bool { revokedAtMillis != nil }

    enum CodingKeys: String, CodingKey {
        case id, name, role, schools, tokenHash = "token_hash", createdAtMillis = "created_at_ms", createdBy = "created_by"
        case revokedAtMillis = "revoked_at_ms", signature, signatureFormat = "signature_format"
    }

    /// What the vault signs (format 2): every column but the signature, the account id included,
    /// so a row cannot be given another account's id (and with it that account's uploads).
    public func signedMessage(vaultID: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v2/user")
        b.append(vaultID)
        b.append(id)
        appendFields(to: &b)
        return b.bytes
    }

    /// What a row of format 1 was signed over: the same without the id. Read only to re-sign
    /// such a row, never to honour it.
    public func legacySignedMessage(vaultID: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v1/user")
        b.append(vaultID)
        appendFields(to: &b)
        return b.bytes
    }

    private func appendFields(to b: inout Binding) {
        b.append(name)
        b.append(role)
        b.append(schools.joined(separator: " "))
        b.append(Array(tokenHash))
        b.append(UInt64(bitPattern: createdAtMillis))
        b.append(createdBy)
        b.append(revokedAtMillis.map { String($0) } ?? "")
    }

    /// A fresh account id: 64 random bits.
    public static func newID() -> String { Hex.encode(randomPublicBytes(8)) }

    /// The id migration `v8-account-ids` gives an account that existed before ids: derived from
    /// its format-1 signature, so the process that re-signs the row can tell that nobody chose
    /// another id for it in between (the format-1 signature does not cover the id).
    public static func migratedID(signature: Data) -> String {
        var b = Binding(label: "strongroom/v1/user-account-id")
        b.append(Array(signature))
        return Hex.encode(Array(SHA256Hasher.hash(b.bytes).prefix(8)))
    }

    public static func isValidID(_ id: String) -> Bool {
        id.utf8.count == 16 && id.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    public init(id: String = UserAccount.newID(), name: String, role: String, schools: [String], tokenHash: Data, createdAtMillis: Int64,
                createdBy: String, revokedAtMillis: Int64? = nil, signature: Data = Data(), signatureFormat: Int = UserAccount.signatureFormat) {
        self.id = id
        self.signature = signature
        self.signatureFormat = signatureFormat
        self.name = name
        self.role = role
        self.schools = schools
        self.tokenHash = tokenHash
        self.createdAtMillis = createdAtMillis
        self.createdBy = createdBy
        self.revokedAtMillis = revokedAtMillis
    }

    // Schools are stored as one space-separated column: ids never contain spaces.
    public init(row: Row) throws {
        id = row["id"]
        name = row["name"]
        role = row["role"]
        schools = (row["schools"] as String).split(separator: " ").map(String.init)
        tokenHash = row["token_hash"]
        createdAtMillis = row["created_at_ms"]
        createdBy = row["created_by"]
        revokedAtMillis = row["revoked_at_ms"]
        signature = row["signature"]
        signatureFormat = row["signature_format"]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["name"] = name
        container["role"] = role
        container["schools"] = schools.joined(separator: " ")
        container["token_hash"] = tokenHash
        container["created_at_ms"] = createdAtMillis
        container["created_by"] = createdBy
        container["revoked_at_ms"] = revokedAtMillis
        container["signature"] = signature
        container["signature_format"] = signatureFormat
    }
}
