import Foundation
import KeyManagement
import Storage

/// The vault as a signed-in user reaches it (the HTTP service): every operation checks the
/// role against `AccessPolicy` and the record against the user's schools, and every denial is
/// an audit event with its reason. A record of another school, one the user may not see and
/// one that does not exist all end in the same `notFound`, so a caller learns nothing from
/// the difference.
extension Vault {
    /// Starts an upload for `principal` into `request.school`.
    public func authorizedPut(_ request: PutRequest, by principal: Principal) throws -> IngestSession {
        var request = request
        request.actor = principal.actor
        request.account = principal.account
        try requireSchool(.upload, principal, school: request.school)
        if let original = request.derivedFrom {
            // Linking a copy to a record is sharing work: the user must be able to see the original.
            let record = try authorizedRecord(id: original, by: principal, for: .share)
            guard record.school == request.school, record.child == request.child else {
                try deny(principal, .share, school: request.school, record: original, reason: "derivedFrom of another school or child")
                throw VaultError.invalidArgument("derivedFrom must name a record of the same school and child")
            }
        }
        return try beginPut(request)
    }

    /// A record's plaintext for `principal`, its audit event already durable.
    public func authorizedDownload(id: String, by principal: Principal) throws -> RecordDownload {
        let record = try authorizedRecord(id: id, by: principal, for: .download)
        return try beginDownload(record, actor: principal.actor)
    }

    /// A record's metadata for `principal`, after its audit event.
    public func authorizedMetadata(id: String, by principal: Principal) throws -> EvidenceRecord {
        let record = try authorizedRecord(id: id, by: principal, for: .metadata)
        try audit(event(record, actor: principal.actor, action: Capability.metadata.auditAction, outcome: .ok))
        return record
    }

    /// The audit events naming a record, for `principal`, after an event recording that read.
    public func authorizedAuditTrail(id: String, by principal: Principal) throws -> (EvidenceRecord, [AuditEvent]) {
        let record = try authorizedRecord(id: id, by: principal, for: .audit)
        try audit(event(record, actor: principal.actor, action: Capability.audit.auditAction, outcome: .ok))
        return (record, try vaulting { try catalog.events(record: id) })
    }

    /// A child's records in one school, oldest first, one page at a time.
    public func authorizedChronology(child: String, school: String, limit: Int, offset: Int, by principal: Principal) throws -> [EvidenceRecord] {
        try authorizedChronologyAndShares(child: child, school: school, limit: limit, offset: offset, by: principal).records
    }

    /// A child's records in one school, oldest first, one page at a time, and what of them was
    /// shared, with whom, when, by whom and why (for roles that see the whole school; a staff
    /// member seeing their own uploads gets no shares).
    public func authorizedChronologyAndShares(
        child: String, school: String, limit: Int, offset: Int, by principal: Principal
    ) throws -> (records: [EvidenceRecord], shares: [ShareEntry]) {
        try vaulting {
            try OpaqueID.validate(child, field: "child id")
            try OpaqueID.validate(school, field: "school id")
        }
        guard (1...1000).contains(limit), offset >= 0 else {
            throw VaultError.invalidArgument("limit must be 1 to 1000 and offset at least 0")
        }
        let grant = try requireSchool(.list, principal, school: school)
        let filter = RecordFilter(
            school: school, child: child, limit: limit, offset: offset, createdByAccount: grant == .ownUploads ? principal.account : nil)
        let records = try withoutShredded(try vaulting { try catalog.records(matching: filter) }, id: \.id)
        let shares = grant == .schools ? try shares(child: child, school: school) : []
        try audit(AuditEntry(
            actor: principal.actor, action: Capability.list.auditAction, outcome: .ok, school: school, child: child,
            reason: "\(records.count) records, \(shares.count) shares\(grant == .ownUploads ? ", own uploads only" : "")"))
        return (records, shares)
    }

    // MARK: checks

    /// The role's grant for `capability`; a role without it is denied (and audited) before any
    /// record is looked at.
    @discardableResult
    func requireCapability(_ capability: Capability, _ principal: Principal, school: String?, record: String? = nil) throws -> Grant {
        let grant = AccessPolicy.grant(principal.role, capability)
        if grant == .denied {
            try deny(principal, capability, school: school, record: record,
                     reason: "role \(principal.role.rawValue) may not \(capability.rawValue)")
            throw VaultError.forbidden("the \(principal.role.rawValue) role may not \(capability.rawValue) evidence")
        }
        return grant
    }

    /// The role's grant for `capability` in `school`, which must be one of the user's (nil: no
    /// school named); a malformed or foreign school is denied (and audited) like a missing role.
    @discardableResult
    func requireSchool(_ capability: Capability, _ principal: Principal, school: String?) throws -> Grant {
        let valid = school.map(OpaqueID.isValid) ?? true
        let grant = try requireCapability(capability, principal, school: valid ? school : nil)
        guard let school else { return grant }
        guard valid, principal.schools.contains(school) else {
            try deny(principal, capability, school: valid ? school : nil, reason: valid ? "not one of the user's schools" : "malformed school id")
            throw VaultError.forbidden("you may not \(capability.rawValue) in this school")
        }
        return grant
    }

    func authorizedRecord(id: String, by principal: Principal, for capability: Capability) throws -> EvidenceRecord {
        let valid = RecordID.isValid(id)
        let grant = try requireCapability(capability, principal, school: nil, record: valid ? id : nil)
        guard valid else {
            try deny(principal, capability, reason: "malformed record id")
            throw VaultError.notFound("(malformed id)")
        }
        guard let record = try liveRecord(id: id) else {
            try deny(principal, capability, record: id, reason: "no such record")
            throw VaultError.notFound(id)
        }
        guard principal.schools.contains(record.school) else {
            try deny(principal, capability, record: id, reason: "record of another school")
            throw VaultError.notFound(id)
        }
        // The account, not the name: a name added again after a revocation is someone else.
        if grant == .ownUploads, record.createdByAccount != principal.account {
            try deny(principal, capability, school: record.school, record: id, reason: "not the user's own upload")
            throw VaultError.notFound(id)
        }
        return record
    }

    /// Writes the denial's audit event. If even that fails, the audit failure is thrown.
    func deny(_ principal: Principal, _ capability: Capability, school: String? = nil, record: String? = nil, reason: String) throws {
        try audit(AuditEntry(
            actor: principal.actor, action: capability.auditAction, outcome: .denied, school: school, record: record, reason: reason))
    }
}

extension Vault {
    /// Audits a request refused before any user was known (no token, unknown or revoked token).
    public func recordAuthenticationFailure(request: String, reason: String) throws {
        try audit(AuditEntry(actor: "anonymous", action: "authenticate", outcome: .denied, reason: "\(request): \(reason)"))
    }
}
