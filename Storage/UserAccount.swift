import Foundation
import GRDB
import KeyManagement

/// A person who reaches the vault over HTTP. Only a hash of their bearer token is kept; the
/// token itself is shown once, when the user is added. Schools are opaque ids.
public struct UserAccount: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "users"

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

    public var isRevoked: Bool { revokedAtMillis != nil }

    enum CodingKeys: String, CodingKey {
        case name, role, schools, tokenHash = "token_hash", createdAtMillis = "created_at_ms", createdBy = "created_by"
        case revokedAtMillis = "revoked_at_ms", signature
    }

    public func signedMessage(vaultID: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v1/user")
        b.append(vaultID)
        b.append(name)
        b.append(role)
        b.append(schools.joined(separator: " "))
        b.append(Array(tokenHash))
        b.append(UInt64(bitPattern: createdAtMillis))
        b.append(createdBy)
        b.append(revokedAtMillis.map { String($0) } ?? "")
        return b.bytes
    }

    public init(name: String, role: String, schools: [String], tokenHash: Data, createdAtMillis: Int64, createdBy: String,
                revokedAtMillis: Int64? = nil, signature: Data = Data()) {
        self.signature = signature
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
        name = row["name"]
        role = row["role"]
        schools = (row["schools"] as String).split(separator: " ").map(String.init)
        tokenHash = row["token_hash"]
        createdAtMillis = row["created_at_ms"]
        createdBy = row["created_by"]
        revokedAtMillis = row["revoked_at_ms"]
        signature = row["signature"]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["name"] = name
        container["role"] = role
        container["schools"] = schools.joined(separator: " ")
        container["token_hash"] = tokenHash
        container["created_at_ms"] = createdAtMillis
        container["created_by"] = createdBy
        container["revoked_at_ms"] = revokedAtMillis
        container["signature"] = signature
    }
}
