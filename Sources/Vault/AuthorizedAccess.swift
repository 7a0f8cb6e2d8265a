import Foundation
import KeyManagement
import Storage

/// The vault as a signed-in user reaches it (the HTTP service): every operation checks the
/// role against `AccessPolicy` and the record against the user's schools, and every denial is
/// an audit event with its reason. A record of another school, one the user may not see and
/// one that does not exist all end in the same `notFound`, so a caller learns nothing from
/// the difference.
extension Vault {
    func beginPut(_ request: PutRequest, by caller: Caller) throws -> IngestSession {
        var request = request
        request.actor = caller.actor
        request.account = caller.principal?.account
        try requireCaller(.upload, caller, school: request.school)
        if let original = request.derivedFrom, let principal = caller.principal {
            // Linking a copy to a record is sharing work: the user must be able to see the original.
            let record = try authorizedRecord(id: original, by: principal, for: .share)
            guard record.school == request.school, record.child == request.child else {
                try deny(principal, .share, school: request.school, record: original, reason: "derivedFrom of another school or child")
                throw VaultError.invalidArgument("derivedFrom must name a record of the same school and child")
            }
        }
        return try startPut(request)
    }

    func download(id: String, by caller: Caller) throws -> RecordDownload {
        let record = try record(id: id, by: caller, for: .download)
        try requireRecentFactor(caller, for: "downloading evidence")
        return try beginDownload(record, actor: caller.actor)
    }

    @discardableResult
    func get(id: String, by caller: Caller, to sink: (UnsafeRawBufferPointer) throws -> Void) throws -> EvidenceRecord {
        let download = try download(id: id, by: caller)
        while try download.next(sink) {}
        return download.record
    }

    func show(id: String, by caller: Caller) throws -> EvidenceRecord {
        let record = try record(id: id, by: caller, for: .metadata)
        try audit(event(record, actor: caller.actor, action: Capability.metadata.auditAction, outcome: .ok))
        return record
    }

    func auditTrail(id: String, by caller: Caller) throws -> (EvidenceRecord, [AuditEvent]) {
        let record = try record(id: id, by: caller, for: .audit)
        try audit(event(record, actor: caller.actor, action: Capability.audit.auditAction, outcome: .ok))
        return (record, try vaulting { try catalog.events(record: id) })
    }

    func chronology(child: String, school: String, limit: Int, offset: Int, by caller: Caller) throws -> [EvidenceRecord] {
        try chronologyAndShares(child: child, school: school, limit: limit, offset: offset, by: caller).records
    }

    func chronologyAndShares(
        child: String, school: String, limit: Int, offset: Int, by caller: Caller
    ) throws -> (records: [EvidenceRecord], shares: [ShareEntry]) {
        try vaulting {
            try OpaqueID.validate(child, field: "child id")
            try OpaqueID.validate(school, field: "school id")
        }
        guard (1...1000).contains(limit), offset >= 0 else {
            throw VaultError.invalidArgument("limit must be 1 to 1000 and offset at least 0")
        }
        let grant = try requireCaller(.list, caller, school: school) ?? .schools
        let filter = RecordFilter(
            school: school, child: child, limit: limit, offset: offset,
            createdByAccount: grant == .ownUploads ? caller.principal?.account : nil)
        let records = try withoutShredded(try vaulting { try catalog.records(matching: filter) }, id: \.id)
        let shares = grant == .schools ? try shares(child: child, school: school) : []
        try audit(AuditEntry(
            actor: caller.actor, action: Capability.list.auditAction, outcome: .ok, school: school, child: child,
            reason: "\(records.count) records, \(shares.count) shares\(grant == .ownUploads ? ", own uploads only" : "")"))
        return (records, shares)
    }

    func list(_ filter: RecordFilter, by caller: Caller) throws -> [EvidenceRecord] {
        try requireOperator(caller, .list)
        for (value, field) in [(filter.school, "school id"), (filter.child, "child id"), (filter.concern, "concern id")] {
            if let value { try vaulting { try OpaqueID.validate(value, field: field) } }
        }
        let records = try withoutShredded(try vaulting { try catalog.records(matching: filter) }, id: \.id)
        try audit(AuditEntry(
            actor: caller.actor, action: .list, outcome: .ok, school: filter.school, child: filter.child, concern: filter.concern,
            reason: "\(records.count) records"))
        return records
    }

    /// The record `id` if `caller` may use `capability` on it. The operator finds any live
    /// record (a failed look-up audited); a person or an integration only one of their schools
    /// (and of their own uploads where that is their grant).
    func record(id: String, by caller: Caller, for capability: Capability) throws -> EvidenceRecord {
        switch caller {
        case .person(let principal, _), .integration(let principal):
            return try authorizedRecord(id: id, by: principal, for: capability)
        case .operator:
            return try lookUp(id: id, actor: caller.actor, action: capability.auditAction)
        case .linkHolder:
            try requireCaller(capability, caller, school: nil)
            throw VaultError.forbidden("a link holder may not \(capability.rawValue)")
        }
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
    func recordAuthenticationFailure(request: String, reason: String) throws {
        try audit(AuditEntry(actor: .anonymous, action: .authenticate, outcome: .denied, reason: "\(request): \(reason)"))
    }
}
