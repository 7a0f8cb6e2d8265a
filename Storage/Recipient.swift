import Foundation
import GRDB
import KeyManagement

/// An agency a school shares evidence bundles with (docs/formats.md, migration v4): the age
/// X25519 recipient its bundles are encrypted to, or none, when each bundle gets a passphrase
/// given out of band.
public struct Recipient: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "recipients"
    public var school: String
    public var name: String
    public var contact: String
    /// `age1…`, or nil for a passphrase recipient.
    public var ageRecipient: String?
    public var createdBy: String
    public var createdAtMillis: Int64

    public var usesPassphrase: Bool { ageRecipient == nil }

    enum CodingKeys: String, CodingKey {
        case school, name, contact, ageRecipient = "age_recipient", createdBy = "created_by", createdAtMillis = "created_at_ms"
    }

    public init(school: String, name: String, contact: String, ageRecipient: String?, createdBy: String, createdAtMillis: Int64) {
        self.school = school
        self.name = name
        self.contact = contact
        self.ageRecipient = ageRecipient
        self.createdBy = createdBy
        self.createdAtMillis = createdAtMillis
    }
}

/// The part of the catalog that sharing with agencies works on.
public protocol SharingCatalog: Sendable {
    /// Adds a recipient with its audit event in one transaction; `lifecycleConflict` if the
    /// school already has one of that name.
    func addRecipient(_ recipient: Recipient, event: AuditEntry, signer: AuditSigner?) throws
    /// A school's recipients, by name.
    func recipients(school: String) throws -> [Recipient]
}

extension RelationalCatalog {
    public func addRecipient(_ recipient: Recipient, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            if try db.exists("SELECT 1 FROM recipients WHERE school = ? AND name = ?", [recipient.school, recipient.name]) {
                throw StorageError.lifecycleConflict("the school already has a recipient named \(LogText.escape(recipient.name))")
            }
            try db.insert(recipient)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func recipients(school: String) throws -> [Recipient] {
        try guarded { try read { try $0.fetchAll(Recipient.self, "SELECT * FROM recipients WHERE school = ? ORDER BY name", [school]) } }
    }
}
