import Foundation
import GRDB
import KeyManagement

/// A legal hold: while it is active, no record it covers can be shredded by any path. One person
/// places it; ending it takes two: one asks for its release (the `releaseRequested…` fields), a
/// different person approves, which releases it (the `released…` fields).
public struct Hold: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "holds"
    public enum Scope: String, Sendable, Codable, CaseIterable { case record, child, concern }

    public var id: String
    public var school: String
    public var scope: Scope
    public var target: String
    public var reason: String
    public var placedBy: String
    public var placedAtMillis: Int64
    /// Who approved the release (the second person), when, and the reason the requester gave.
    public var releasedBy: String?
    public var releasedAtMillis: Int64?
    public var releaseReason: String?
    /// The request to release it: pending while the hold is active, kept once it is released.
    public var releaseRequestedBy: String?
    /// The requester's user account id: the request lives only as long as that account.
    public var releaseRequestedAccount: String?
    public var releaseRequestedRole: String?
    public var releaseRequestedAtMillis: Int64?
    public var releaseRequestReason: String?

    public var isActive: Bool { releasedAtMillis == nil }

    enum CodingKeys: String, CodingKey {
        case id, school, scope, target, reason, placedBy = "placed_by", placedAtMillis = "placed_at_ms"
        case releasedBy = "released_by", releasedAtMillis = "released_at_ms", releaseReason = "release_reason"
        case releaseRequestedBy = "release_requested_by", releaseRequestedAccount = "release_requested_account"
        case releaseRequestedRole = "release_requested_role", releaseRequestedAtMillis = "release_requested_at_ms"
        case releaseRequestReason = "release_request_reason"
    }

    public init(id: String, school: String, scope: Scope, target: String, reason: String, placedBy: String, placedAtMillis: Int64) {
        self.id = id
        self.school = school
        self.scope = scope
        self.target = target
        self.reason = reason
        self.placedBy = placedBy
        self.placedAtMillis = placedAtMillis
    }

    /// Whether this hold covers `record`.
    public func covers(_ record: EvidenceRecord) -> Bool {
        covers(school: record.school, id: record.id, child: record.child, concern: record.concern)
    }

    public func covers(school: String, id: String, child: String, concern: String) -> Bool {
        isActive && names(school: school, id: id, child: child, concern: concern)
    }

    /// Whether this hold names the record, active or released (its history still counts: a
    /// shred request made before a hold does not outlive it).
    public func names(school: String, id: String, child: String, concern: String) -> Bool {
        guard self.school == school else { return false }
        switch scope {
        case .record: return target == id
        case .child: return target == child
        case .concern: return target == concern
        }
    }
}

/// A request to shred records, made by one person and executed only when a second approves.
public struct ShredRequest: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "shred_requests"
    public enum State: String, Sendable, Codable {
        /// Waiting for the second person.
        case pending
        /// Approved: rows and keys are gone; blobs, ledger, KEKs and certificate are being finished.
        case executing
        /// Finished; the certificate is stored.
        case done
        /// Dead: a legal hold covered one of its records at some time after it was made (an
        /// approval found one, or one was placed and released meanwhile). It can never be
        /// approved; a shred needs a fresh request.
        case void
        /// Taken back by the person who asked, before anyone approved it. It can never be approved.
        case withdrawn
    }

    public var id: String
    public var school: String
    public var records: [String]
    public var reason: String
    public var requestedBy: String
    public var requestedRole: String
    public var requestedAtMillis: Int64
    /// The requester's user account id: the request lives only as long as that account (nil: a
    /// request from before accounts had ids that no active account could be shown to have made).
    public var requestedAccount: String?
    public var approvedBy: String?
    public var approvedRole: String?
    public var approvedAtMillis: Int64?
    public var state: State
    public var certificate: Data?
    /// Who withdrew the request (as the audit log names them) and when; nil unless withdrawn.
    public var withdrawnBy: String?
    public var withdrawnAtMillis: Int64?

    enum CodingKeys: String, CodingKey {
        case id, school, records, reason, requestedBy = "requested_by", requestedRole = "requested_role"
        case requestedAtMillis = "requested_at_ms", approvedBy = "approved_by", approvedRole = "approved_role"
        case approvedAtMillis = "approved_at_ms", state, certificate, requestedAccount = "requested_account"
        case withdrawnBy = "withdrawn_by", withdrawnAtMillis = "withdrawn_at_ms"
    }

    public init(id: String, school: String, records: [String], reason: String, requestedBy: String, requestedRole: String, requestedAtMillis: Int64,
                requestedAccount: String? = nil) {
        self.id = id
        self.school = school
        self.records = records
        self.reason = reason
        self.requestedBy = requestedBy
        self.requestedRole = requestedRole
        self.requestedAtMillis = requestedAtMillis
        self.requestedAccount = requestedAccount
        self.state = .pending
    }

    public init(row: Row) throws {
        id = row["id"]
        school = row["school"]
        records = (row["records"] as String).split(separator: " ").map(String.init)
        reason = row["reason"]
        requestedBy = row["requested_by"]
        requestedRole = row["requested_role"]
        requestedAtMillis = row["requested_at_ms"]
        requestedAccount = row["requested_account"]
        approvedBy = row["approved_by"]
        approvedRole = row["approved_role"]
        approvedAtMillis = row["approved_at_ms"]
        // An unknown state is never read as one that can be approved.
        guard let state = State(rawValue: row["state"]) else {
            throw StorageError.unsupportedFormat("shred request \(id) has an unknown state")
        }
        self.state = state
        certificate = row["certificate"]
        withdrawnBy = row["withdrawn_by"]
        withdrawnAtMillis = row["withdrawn_at_ms"]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["school"] = school
        container["records"] = records.joined(separator: " ")
        container["reason"] = reason
        container["requested_by"] = requestedBy
        container["requested_role"] = requestedRole
        container["requested_at_ms"] = requestedAtMillis
        container["requested_account"] = requestedAccount
        container["approved_by"] = approvedBy
        container["approved_role"] = approvedRole
        container["approved_at_ms"] = approvedAtMillis
        container["state"] = state.rawValue
        container["certificate"] = certificate
        container["withdrawn_by"] = withdrawnBy
        container["withdrawn_at_ms"] = withdrawnAtMillis
    }
}

/// What remains of a shredded record: who, when, why and the plaintext's hash; no content, no
/// filename, no key. Signed by the vault, so a forged or edited tombstone is detected.
public struct Tombstone: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "tombstones"

    public var record: String
    public var school: String
    public var child: String
    public var kind: String
    public var category: String
    public var createdAtMillis: Int64
    public var sha256: String
    public var shreddedAtMillis: Int64
    public var request: String
    public var requestedBy: String
    public var approvedBy: String
    public var reason: String
    /// The KEK the data key was wrapped under when it was destroyed (for KEK clean-up; not signed).
    public var kekID: String
    public var signature: Data

    enum CodingKeys: String, CodingKey {
        case record, school, child, kind, category, createdAtMillis = "created_at_ms", sha256
        case shreddedAtMillis = "shredded_at_ms", request, requestedBy = "requested_by", approvedBy = "approved_by"
        case reason, kekID = "kek_id", signature
    }

    public init(record: EvidenceRecord, shreddedAtMillis: Int64, request: ShredRequest, approvedBy: String) {
        self.record = record.id
        self.school = record.school
        self.child = record.child
        self.kind = record.kind
        self.category = record.category
        self.createdAtMillis = record.createdAtMillis
        self.sha256 = record.sha256
        self.shreddedAtMillis = shreddedAtMillis
        self.request = request.id
        self.requestedBy = request.requestedBy
        self.approvedBy = approvedBy
        self.reason = request.reason
        self.kekID = record.kekID
        self.signature = Data()
    }

    public init(row: Row) throws {
        record = row["record"]; school = row["school"]; child = row["child"]; kind = row["kind"]; category = row["category"]
        createdAtMillis = row["created_at_ms"]; sha256 = row["sha256"]; shreddedAtMillis = row["shredded_at_ms"]
        request = row["request"]; requestedBy = row["requested_by"]; approvedBy = row["approved_by"]; reason = row["reason"]
        kekID = row["kek_id"]; signature = row["signature"]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["record"] = record; container["school"] = school; container["child"] = child; container["kind"] = kind
        container["category"] = category; container["created_at_ms"] = createdAtMillis; container["sha256"] = sha256
        container["shredded_at_ms"] = shreddedAtMillis; container["request"] = request; container["requested_by"] = requestedBy
        container["approved_by"] = approvedBy; container["reason"] = reason; container["kek_id"] = kekID
        container["signature"] = signature
    }

    public func signedMessage(vaultID: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v1/tombstone")
        b.append(vaultID)
        for field in [record, school, child, kind, category] { b.append(field) }
        b.append(UInt64(bitPattern: createdAtMillis))
        b.append(sha256)
        b.append(UInt64(bitPattern: shreddedAtMillis))
        for field in [request, requestedBy, approvedBy, reason] { b.append(field) }
        return b.bytes
    }
}

/// The columns of a record that its key's placement depends on (a rotation reads only these).
public struct KeyedRecord: Sendable, Equatable {
    public var rowID: Int64?
    public var id: String
    public var school: String
    public var child: String
    public var concern: String
    public var kekID: String
    public var wrappedDEK: Data
    public var formatVersion: Int
    public var reviewOn: String
    public var kind: String
    public var category: String
    public var createdAtMillis: Int64

    public init(_ r: EvidenceRecord) {
        rowID = nil
        id = r.id; school = r.school; child = r.child; concern = r.concern; kekID = r.kekID; wrappedDEK = r.wrappedDEK
        formatVersion = r.formatVersion; reviewOn = r.reviewOn; kind = r.kind; category = r.category; createdAtMillis = r.createdAtMillis
    }

    init(row: Row) {
        rowID = row["rowid"]
        id = row["id"]; school = row["school"]; child = row["child"]; concern = row["concern"]; kekID = row["kek_id"]
        wrappedDEK = row["wrapped_dek"]; formatVersion = row["format_version"]; reviewOn = row["review_on"]; kind = row["kind"]
        category = row["category"]; createdAtMillis = row["created_at_ms"]
    }

    static let columns = "rowid, id, school, child, concern, kek_id, wrapped_dek, format_version, review_on, kind, category, created_at_ms"
}

/// A record's data key moving to another KEK (rotation, a hold, a new date of birth), with its
/// review date. Applied only if the record is still under `fromKEK`.
public struct RecordKeyUpdate: Sendable, Equatable {
    /// The row, when the update was computed in the transaction that applies it.
    public var rowID: Int64?
    public var record: String
    public var fromKEK: String
    public var toKEK: String
    public var wrappedDEK: Data
    public var reviewOn: String
    public init(rowID: Int64? = nil, record: String, fromKEK: String, toKEK: String, wrappedDEK: Data, reviewOn: String) {
        self.rowID = rowID
        self.record = record
        self.fromKEK = fromKEK
        self.toKEK = toKEK
        self.wrappedDEK = wrappedDEK
        self.reviewOn = reviewOn
    }
}

/// A record whose retention period has ended: it is due for review.
public struct DueRecord: Sendable, Equatable, Codable {
    public var id: String
    public var school: String
    public var child: String
    public var concern: String
    public var kind: String
    public var category: String
    public var createdAtMillis: Int64
    public var reviewOn: String
    /// Whether an active legal hold covers it (set by the vault).
    public var held = false
}
