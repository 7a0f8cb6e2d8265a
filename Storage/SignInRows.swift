import Foundation
import GRDB
import KeyManagement

/// What a person signs in with, one row each: a passkey, a passphrase hash, a TOTP
/// authenticator (its secret sealed), or one recovery code (its hash). The vault signs the
/// columns that decide who can sign in, so someone who can write the database but holds no
/// master key cannot add a factor to a DSL's account. `counter` (a TOTP's last accepted step, a
/// passkey's signature counter) and `usedAtMillis` (a recovery code spent) change on use and
/// are not signed (docs/signin.md says what that leaves open).
public struct SignInFactor: Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "sign_in_factors"

    public enum Kind: String, Sendable, CaseIterable {
        case passkey, passphrase, totp, recovery
    }

    /// 16 lowercase hex digits, random.
    public var id: String
    public var account: String
    public var kind: Kind
    public var createdAtMillis: Int64
    /// Passkey: the COSE public key; passphrase: the Argon2id hash string; TOTP: the sealed
    /// secret; recovery: SHA-256 of the normalised code.
    public var secret: Data
    /// A passkey's credential id (unique across the vault); nil for the other kinds.
    public var credentialID: Data?
    public var counter: Int64
    public var usedAtMillis: Int64?
    public var signature: Data

    public init(id: String = Hex.encode(randomPublicBytes(8)), account: String, kind: Kind, createdAtMillis: Int64, secret: Data,
                credentialID: Data? = nil, counter: Int64 = 0, usedAtMillis: Int64? = nil, signature: Data = Data()) {
        self.id = id
        self.account = account
        self.kind = kind
        self.createdAtMillis = createdAtMillis
        self.secret = secret
        self.credentialID = credentialID
        self.counter = counter
        self.usedAtMillis = usedAtMillis
        self.signature = signature
    }

    public func signedMessage(vaultID: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v1/sign-in-factor")
        b.append(vaultID)
        b.append(id)
        b.append(account)
        b.append(kind.rawValue)
        b.append(UInt64(bitPattern: createdAtMillis))
        b.append(Array(secret))
        b.append(credentialID.map(Array.init) ?? [])
        return b.bytes
    }

    public init(row: Row) throws {
        id = row["id"]
        account = row["account"]
        guard let kind = Kind(rawValue: row["kind"]) else { throw StorageError.database("unknown sign-in factor kind") }
        self.kind = kind
        createdAtMillis = row["created_at_ms"]
        secret = row["secret"]
        credentialID = row["credential_id"]
        counter = row["counter"]
        usedAtMillis = row["used_at_ms"]
        signature = row["signature"]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["account"] = account
        container["kind"] = kind.rawValue
        container["created_at_ms"] = createdAtMillis
        container["secret"] = secret
        container["credential_id"] = credentialID
        container["counter"] = counter
        container["used_at_ms"] = usedAtMillis
        container["signature"] = signature
    }
}

/// A one-time enrolment link: only the hash of its token is stored. While a person sets a
/// passphrase and an authenticator, the two wait here (`pendingPassphrase`, `pendingTOTP`) until
/// a code from the authenticator proves it works; then the factors are stored and the link is used.
public struct Enrolment: Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "enrolments"

    public var tokenHash: Data
    public var account: String
    public var createdAtMillis: Int64
    public var expiresAtMillis: Int64
    public var usedAtMillis: Int64?
    public var pendingPassphrase: String?
    public var pendingTOTP: Data?
    /// The vault's signature over the token hash, account and times: a row written into the
    /// database by someone without the master key enrols nobody.
    public var signature: Data

    public init(tokenHash: Data, account: String, createdAtMillis: Int64, expiresAtMillis: Int64, usedAtMillis: Int64? = nil,
                pendingPassphrase: String? = nil, pendingTOTP: Data? = nil, signature: Data = Data()) {
        self.tokenHash = tokenHash
        self.account = account
        self.createdAtMillis = createdAtMillis
        self.expiresAtMillis = expiresAtMillis
        self.usedAtMillis = usedAtMillis
        self.pendingPassphrase = pendingPassphrase
        self.pendingTOTP = pendingTOTP
        self.signature = signature
    }

    public func signedMessage(vaultID: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v1/enrolment")
        b.append(vaultID)
        b.append(Array(tokenHash))
        b.append(account)
        b.append(UInt64(bitPattern: createdAtMillis))
        b.append(UInt64(bitPattern: expiresAtMillis))
        return b.bytes
    }

    public init(row: Row) throws {
        tokenHash = row["token_hash"]
        account = row["account"]
        createdAtMillis = row["created_at_ms"]
        expiresAtMillis = row["expires_at_ms"]
        usedAtMillis = row["used_at_ms"]
        pendingPassphrase = row["pending_passphrase"]
        pendingTOTP = row["pending_totp"]
        signature = row["signature"]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["token_hash"] = tokenHash
        container["account"] = account
        container["created_at_ms"] = createdAtMillis
        container["expires_at_ms"] = expiresAtMillis
        container["used_at_ms"] = usedAtMillis
        container["pending_passphrase"] = pendingPassphrase
        container["pending_totp"] = pendingTOTP
        container["signature"] = signature
    }
}

/// A signed-in person's session: only the hash of its cookie value is stored. The vault signs
/// the hash, the account and the times that grant anything (start, last second factor), so a
/// row written into the database by someone without the master key signs nobody in.
public struct SignInSession: Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "sessions"

    public var idHash: Data
    public var account: String
    public var createdAtMillis: Int64
    public var factorAtMillis: Int64
    public var lastSeenAtMillis: Int64
    /// The browser as its User-Agent names it, shortened (for the person's list of sessions).
    public var browser: String
    /// The client address the session began from.
    public var address: String
    public var signature: Data

    public init(idHash: Data, account: String, createdAtMillis: Int64, factorAtMillis: Int64, lastSeenAtMillis: Int64,
                browser: String, address: String, signature: Data = Data()) {
        self.idHash = idHash
        self.account = account
        self.createdAtMillis = createdAtMillis
        self.factorAtMillis = factorAtMillis
        self.lastSeenAtMillis = lastSeenAtMillis
        self.browser = browser
        self.address = address
        self.signature = signature
    }

    /// The session's public name: the first 16 hex digits of the hash of its secret.
    public var handle: String { Hex.encode(Array(idHash.prefix(8))) }

    public func signedMessage(vaultID: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v1/session")
        b.append(vaultID)
        b.append(Array(idHash))
        b.append(account)
        b.append(UInt64(bitPattern: createdAtMillis))
        b.append(UInt64(bitPattern: factorAtMillis))
        return b.bytes
    }

    public init(row: Row) throws {
        idHash = row["id_hash"]
        account = row["account"]
        createdAtMillis = row["created_at_ms"]
        factorAtMillis = row["factor_at_ms"]
        lastSeenAtMillis = row["last_seen_at_ms"]
        browser = row["browser"]
        address = row["address"]
        signature = row["signature"]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id_hash"] = idHash
        container["account"] = account
        container["created_at_ms"] = createdAtMillis
        container["factor_at_ms"] = factorAtMillis
        container["last_seen_at_ms"] = lastSeenAtMillis
        container["browser"] = browser
        container["address"] = address
        container["signature"] = signature
    }
}
