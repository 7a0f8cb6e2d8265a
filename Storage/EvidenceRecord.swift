import Foundation
import GRDB

/// One piece of evidence, as the metadata database keeps it. Children are opaque ids: the vault
/// stores no names. The filename is data, sanitised, never used as a path.
public struct EvidenceRecord: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "records"
    /// The record format: what the wrapped key's binding and the blob format are at.
    public static let formatVersion = 1

    public var id: String
    public var school: String
    public var child: String
    public var concern: String
    public var kind: String
    public var filename: String
    public var declaredType: String?
    public var sniffedType: String
    public var size: Int64
    public var sha256: String
    public var ciphertextBlake2b: String
    public var ciphertextSize: Int64
    public var createdAtMillis: Int64
    public var createdBy: String
    /// The id of the user account that uploaded it (nil: an operator's put at the CLI, or an
    /// upload made before accounts had ids that no account could be shown to have made). What
    /// "own uploads" means: never the name in `createdBy`, which a later account may reuse.
    public var createdByAccount: String?
    public var kekID: String
    public var wrappedDEK: Data
    public var formatVersion: Int
    /// The retention category (a row of the retention table), e.g. `child-protection`.
    public var category: String
    /// When the record's retention ends and it is due for review, `YYYY-MM-DD`. Its month names
    /// the period KEK its data key is wrapped under.
    public var reviewOn: String
    /// For a redacted copy (a PDF a DSL made of an office document): the record it was made from.
    public var derivedFrom: String?

    public enum Columns {
        static let id = Column(CodingKeys.id)
        static let school = Column(CodingKeys.school)
        static let child = Column(CodingKeys.child)
        static let concern = Column(CodingKeys.concern)
        static let createdAtMillis = Column(CodingKeys.createdAtMillis)
        static let createdBy = Column(CodingKeys.createdBy)
        static let createdByAccount = Column(CodingKeys.createdByAccount)
    }

    enum CodingKeys: String, CodingKey {
        case id, school, child, concern, kind, filename
        case declaredType = "declared_type", sniffedType = "sniffed_type", size, sha256
        case ciphertextBlake2b = "ciphertext_blake2b", ciphertextSize = "ciphertext_size"
        case createdAtMillis = "created_at_ms", createdBy = "created_by", createdByAccount = "created_by_account", kekID = "kek_id"
        case wrappedDEK = "wrapped_dek", formatVersion = "format_version", category, reviewOn = "review_on"
        case derivedFrom = "derived_from"
    }

    public init(
        id: String, school: String, child: String, concern: String, kind: String, filename: String,
        declaredType: String?, sniffedType: String, size: Int64, sha256: String, ciphertextBlake2b: String,
        ciphertextSize: Int64, createdAtMillis: Int64, createdBy: String, kekID: String, wrappedDEK: Data,
        formatVersion: Int = EvidenceRecord.formatVersion, category: String = "child-protection", reviewOn: String = "",
        derivedFrom: String? = nil, createdByAccount: String? = nil
    ) {
        self.id = id
        self.school = school
        self.child = child
        self.concern = concern
        self.kind = kind
        self.filename = filename
        self.declaredType = declaredType
        self.sniffedType = sniffedType
        self.size = size
        self.sha256 = sha256
        self.ciphertextBlake2b = ciphertextBlake2b
        self.ciphertextSize = ciphertextSize
        self.createdAtMillis = createdAtMillis
        self.createdBy = createdBy
        self.kekID = kekID
        self.wrappedDEK = wrappedDEK
        self.formatVersion = formatVersion
        self.category = category
        self.reviewOn = reviewOn
        self.derivedFrom = derivedFrom
        self.createdByAccount = createdByAccount
    }

    public var createdAt: Date { Date(timeIntervalSince1970: Double(createdAtMillis) / 1000) }

    // Row coding written out (not Codable's): a shred or a listing reads records by the hundred thousand.
    public init(row: Row) throws {
        id = row["id"]; school = row["school"]; child = row["child"]; concern = row["concern"]; kind = row["kind"]
        filename = row["filename"]; declaredType = row["declared_type"]; sniffedType = row["sniffed_type"]
        size = row["size"]; sha256 = row["sha256"]; ciphertextBlake2b = row["ciphertext_blake2b"]
        ciphertextSize = row["ciphertext_size"]; createdAtMillis = row["created_at_ms"]; createdBy = row["created_by"]
        kekID = row["kek_id"]; wrappedDEK = row["wrapped_dek"]; formatVersion = row["format_version"]
        category = row["category"]; reviewOn = row["review_on"]; derivedFrom = row["derived_from"]
        // Absent (nil) in a database from before migration v8-account-ids, as a backup's may be.
        createdByAccount = row["created_by_account"]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id; container["school"] = school; container["child"] = child; container["concern"] = concern
        container["kind"] = kind; container["filename"] = filename; container["declared_type"] = declaredType
        container["sniffed_type"] = sniffedType; container["size"] = size; container["sha256"] = sha256
        container["ciphertext_blake2b"] = ciphertextBlake2b; container["ciphertext_size"] = ciphertextSize
        container["created_at_ms"] = createdAtMillis; container["created_by"] = createdBy; container["kek_id"] = kekID
        container["wrapped_dek"] = wrappedDEK; container["format_version"] = formatVersion
        container["category"] = category; container["review_on"] = reviewOn; container["derived_from"] = derivedFrom
        container["created_by_account"] = createdByAccount
    }
}

/// Which records to list; nil fields do not filter.
public struct RecordFilter: Sendable, Equatable {
    public var school: String?
    public var child: String?
    public var concern: String?
    public var createdBy: String?
    /// Only records this user account uploaded.
    public var createdByAccount: String?
    /// Only records of these schools (nil: every school).
    public var schools: [String]?
    /// A page of the chronology: at most `limit` records after skipping `offset`.
    public var limit: Int?
    public var offset: Int
    public init(school: String? = nil, child: String? = nil, concern: String? = nil, createdBy: String? = nil,
                schools: [String]? = nil, limit: Int? = nil, offset: Int = 0, createdByAccount: String? = nil) {
        self.school = school
        self.child = child
        self.concern = concern
        self.createdBy = createdBy
        self.createdByAccount = createdByAccount
        self.schools = schools
        self.limit = limit
        self.offset = offset
    }
}
