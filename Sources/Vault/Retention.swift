import Foundation
import KeyManagement
import Storage

/// What is due for review in one school.
public struct RetentionDue: Sendable, Equatable {
    public var school: String
    public var records: [DueRecord]
}

/// One record's review date as a date of birth would move it: what `setDateOfBirth` would set.
public struct ReviewDateChange: Sendable, Equatable {
    public var record: String
    public var kind: String
    public var category: String
    public var createdAtMillis: Int64
    public var reviewOn: String
    public var newReviewOn: String
}

extension Vault {
    /// What setting a date of birth acts on: the records it moves and the review date each
    /// gets. `setDateOfBirth` and its preview both take it from here, so a preview shows exactly
    /// what saving would set.
    struct DateOfBirthPlan {
        let day: CivilDate
        let records: () throws -> [EvidenceRecord]
        let reviewOn: (KeyedRecord) -> String
    }

    func dateOfBirthPlan(child: String, dob: String, school: String?, by caller: Caller) throws -> DateOfBirthPlan {
        try vaulting { try OpaqueID.validate(child, field: "child id") }
        if caller.principal != nil, school == nil { throw VaultError.invalidArgument("name the school whose child this is") }
        try requireCaller(.setDOB, caller, school: school)
        if let school { try vaulting { try OpaqueID.validate(school, field: "school id") } }
        guard let day = CivilDate(dob) else {
            throw VaultError.invalidArgument("date of birth must be a real day written YYYY-MM-DD (between 1900 and 2999)")
        }
        guard day <= CivilDate(clock()) else { throw VaultError.invalidArgument("date of birth is in the future") }
        let fetch = { [self] () throws -> [EvidenceRecord] in
            var records = try vaulting { try catalog.records(matching: RecordFilter(school: school, child: child)) }
            if school == nil {
                // A school's own date of birth for this id stays in force there.
                let own = try Set(records.map(\.school).filter { s in try vaulting { try catalog.hasOwnDateOfBirth(school: s, child: child) } })
                records.removeAll { own.contains($0.school) }
            }
            return records
        }
        let review: (KeyedRecord) -> String = { record in
            let rule = RetentionPolicy.rule(kind: record.kind, category: record.category) ?? RetentionPolicy.table[0]
            return RetentionPolicy.reviewDate(
                rule: rule, dateOfBirth: day.text, createdAt: Date(timeIntervalSince1970: Double(record.createdAtMillis) / 1000))
        }
        return DateOfBirthPlan(day: day, records: fetch, reviewOn: review)
    }

    func setDateOfBirth(child: String, dob: String, school: String? = nil, by caller: Caller) throws -> Int {
        let keys = try requireKeys("setting a date of birth")
        let plan = try dateOfBirthPlan(child: child, dob: dob, school: school, by: caller)
        return try applyRekey(records: plan.records, keys: keys, holds: { try activeHolds(school: nil) }, reviewOn: plan.reviewOn) { updates, count in
            try catalog.setDateOfBirth(
                school: school, child: child, dob: plan.day.text, by: caller.actor.description, updates: updates,
                event: AuditEntry(actor: caller.actor, action: .setDOB, outcome: .ok, school: school, child: child,
                                  reason: "\(count) records re-dated"),
                signer: try keys.auditSigner())
        }
    }

    func previewDateOfBirth(child: String, dob: String, school: String? = nil, by caller: Caller) throws -> [ReviewDateChange] {
        let plan = try dateOfBirthPlan(child: child, dob: dob, school: school, by: caller)
        let records = try withoutShredded(try plan.records(), id: \.id).sorted { ($0.createdAtMillis, $0.id) < ($1.createdAtMillis, $1.id) }
        let changes = records.map { r in
            ReviewDateChange(record: r.id, kind: r.kind, category: r.category, createdAtMillis: r.createdAtMillis,
                             reviewOn: r.reviewOn, newReviewOn: plan.reviewOn(KeyedRecord(r)))
        }
        try audit(AuditEntry(actor: caller.actor, action: .setDOBPreview, outcome: .ok, school: school, child: child,
                             reason: "\(changes.count) records would be re-dated"))
        return changes
    }

    func retentionDue(asOf: String? = nil, school: String? = nil, by caller: Caller) throws -> [RetentionDue] {
        let day: String
        if let asOf {
            guard let parsed = CivilDate(asOf) else { throw VaultError.invalidArgument("asOf must be a real day written YYYY-MM-DD") }
            day = parsed.text
        } else {
            day = CivilDate(clock()).text
        }
        var schools: [String]? = school.map { [$0] }
        if try requireCaller(.retention, caller, school: school) != nil, let principal = caller.principal {
            schools = school.map { [$0] } ?? principal.schools.sorted()
        }
        if let school { try vaulting { try OpaqueID.validate(school, field: "school id") } }
        var due = try withoutShredded(try vaulting { try catalog.dueRecords(asOf: day, schools: schools) }, id: \.id)
        let holds = try activeHolds(school: nil)
        if !holds.isEmpty {
            for i in due.indices {
                let r = due[i]
                due[i].held = holds.contains { $0.covers(school: r.school, id: r.id, child: r.child, concern: r.concern) }
            }
        }
        try audit(AuditEntry(
            actor: caller.actor, action: .retentionDue, outcome: .ok, school: school, reason: "as of \(day): \(due.count) records due"))
        // Per school (in school order), each school's records by review date.
        return Dictionary(grouping: due, by: \.school).sorted { $0.key < $1.key }.map { RetentionDue(school: $0.key, records: $0.value) }
    }
}
