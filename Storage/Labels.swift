import Foundation
import GRDB
import KeyManagement

/// A display name for an opaque id: a child's label or a concern's title, as a school's people
/// know them. It is personal data, so the catalog holds it only sealed (`sealed`: the vault's
/// seal for the school, bound to school, kind and subject); the plaintext never reaches the
/// database file. A child's label and the titles of their concerns go with the child's last
/// record when it is shredded (the catalog removes them in the shred's transaction).
public struct SubjectLabel: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public enum Kind: String, Sendable, Codable { case child, concern }

    public var school: String
    public var kind: Kind
    /// The child or concern id the label names.
    public var subject: String
    public var sealed: Data
    public var updatedAtMillis: Int64
    /// Who set it (an audit actor).
    public var updatedBy: String

    public static let databaseTableName = "labels"

    enum CodingKeys: String, CodingKey {
        case school, kind, subject, sealed
        case updatedAtMillis = "updated_at_ms"
        case updatedBy = "updated_by"
    }

    public init(school: String, kind: Kind, subject: String, sealed: Data, updatedAtMillis: Int64, updatedBy: String) {
        self.school = school
        self.kind = kind
        self.subject = subject
        self.sealed = sealed
        self.updatedAtMillis = updatedAtMillis
        self.updatedBy = updatedBy
    }
}

/// The part of the catalog that keeps labels and titles.
public protocol LabelCatalog: Sendable {
    /// Sets (or replaces) a label, with its audit event, in one transaction.
    func setLabel(_ label: SubjectLabel, event: AuditEntry, signer: AuditSigner?) throws
    func label(school: String, kind: SubjectLabel.Kind, subject: String) throws -> SubjectLabel?
    /// Every label of a kind in the given schools (for a search done after opening them).
    func labels(schools: [String], kind: SubjectLabel.Kind) throws -> [SubjectLabel]
}

extension SQLiteCatalog {
    static func registerLabelMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v12-labels") { db in
            try db.execute(sql: """
                CREATE TABLE labels (
                    school TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, sealed BLOB NOT NULL,
                    updated_at_ms INTEGER NOT NULL, updated_by TEXT NOT NULL,
                    PRIMARY KEY (school, kind, subject));
                """)
        }
    }
}

extension RelationalCatalog {
    public func setLabel(_ label: SubjectLabel, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            try db.execute("""
                INSERT INTO labels (school, kind, subject, sealed, updated_at_ms, updated_by) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (school, kind, subject) DO UPDATE SET
                    sealed = excluded.sealed, updated_at_ms = excluded.updated_at_ms, updated_by = excluded.updated_by
                """, [label.school, label.kind.rawValue, label.subject, label.sealed, label.updatedAtMillis, label.updatedBy])
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func label(school: String, kind: SubjectLabel.Kind, subject: String) throws -> SubjectLabel? {
        try guarded {
            try read {
                try $0.fetchOne(SubjectLabel.self, "SELECT * FROM labels WHERE school = ? AND kind = ? AND subject = ?", [school, kind.rawValue, subject])
            }
        }
    }

    public func labels(schools: [String], kind: SubjectLabel.Kind) throws -> [SubjectLabel] {
        guard !schools.isEmpty else { return [] }
        let arguments: SQLArguments = schools.map { $0 } + [kind.rawValue]
        return try guarded {
            try read {
                try $0.fetchAll(SubjectLabel.self, "SELECT * FROM labels WHERE school IN (\(placeholders(schools.count))) AND kind = ?", arguments)
            }
        }
    }

    /// After a shred deleted records: the labels of children, and titles of concerns, that no
    /// live record in the school names any more. Part of the shred's transaction.
    static func removeOrphanedLabels(_ db: any CatalogSQL) throws {
        try db.execute("""
            DELETE FROM labels WHERE kind = 'child'
              AND NOT EXISTS (SELECT 1 FROM records r WHERE r.school = labels.school AND r.child = labels.subject)
            """)
        try db.execute("""
            DELETE FROM labels WHERE kind = 'concern'
              AND NOT EXISTS (SELECT 1 FROM records r WHERE r.school = labels.school AND r.concern = labels.subject)
            """)
    }
}
