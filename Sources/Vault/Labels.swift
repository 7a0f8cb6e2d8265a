import Foundation
import KeyManagement
import Storage

/// Display names for opaque ids: a child's label and a concern's title. They are personal data,
/// so they are sealed under the school's label key before they reach the catalog, opened only
/// for someone who may see that school's records, searched only in memory after opening, and
/// never written to the audit log, a log line or an error message. A child's label goes with
/// their last record when it is shredded.
extension Vault {
    /// At most this many characters in a label or a title.
    public static let maxLabelCharacters = 200

    /// Sets (or replaces) the label of `subject` (a child or concern id) in `school`: the DSL or
    /// deputy, or the school's record system with that role.
    func setLabel(_ kind: SubjectLabel.Kind, subject: String, school: String, text: String, by caller: Caller) throws {
        let keys = try requireKeys("setting a label")
        try validateSubject(kind, subject, school)
        try requireCaller(.label, caller, school: school)
        let clean = try Self.validatedLabel(text, kind)
        var plain = Array(clean.utf8)
        defer { plain.wipe() }
        let secret = try SecretBytes(count: plain.count)
        plain.withUnsafeBytes { source in secret.withUnsafeMutableBytes { $0.copyMemory(from: source) } }
        let sealed = try vaulting {
            try keys.seal(secret, for: labelBinding(kind, subject, school), purpose: .labels(school: school))
        }
        let row = SubjectLabel(school: school, kind: kind, subject: subject, sealed: Data(sealed),
                               updatedAtMillis: nowMillis, updatedBy: caller.actor.description)
        try vaulting {
            try catalog.setLabel(row, event: AuditEntry(
                actor: caller.actor, action: .labelSet, outcome: .ok, school: school,
                child: kind == .child ? subject : nil, concern: kind == .concern ? subject : nil,
                reason: "\(kind == .child ? "child's label" : "concern's title") set"), signer: signer)
        }
    }

    /// The label of `subject` in `school`, for someone who may see the school's records; nil
    /// when there is none (or the child's records were shredded).
    func label(_ kind: SubjectLabel.Kind, subject: String, school: String, by caller: Caller) throws -> String? {
        try validateSubject(kind, subject, school)
        try requireLabelReader(caller, school: school)
        guard let row = try vaulting({ try catalog.label(school: school, kind: kind, subject: subject) }) else { return nil }
        let text = try open(row)
        try audit(AuditEntry(actor: caller.actor, action: .labelRead, outcome: .ok, school: school,
                             child: kind == .child ? subject : nil, concern: kind == .concern ? subject : nil))
        return text
    }

    /// Children with records whose label contains `query` (case and accents ignored), in the
    /// caller's schools (or `school`), each with the school and the label. The labels are opened and
    /// compared in memory; the query is never stored or logged.
    func findChildren(matching query: String, school: String?, by caller: Caller) throws -> [(school: String, child: String, label: String)] {
        let needle = query.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !needle.isEmpty, needle.count <= Self.maxLabelCharacters else {
            throw VaultError.invalidArgument("type 1 to \(Self.maxLabelCharacters) characters of the child's name")
        }
        if let school { try vaulting { try OpaqueID.validate(school, field: "school id") } }
        let schools: [String]
        switch caller {
        case .person(let principal, _), .integration(let principal):
            try requireLabelReader(caller, school: school)
            schools = school.map { [$0] } ?? principal.schools.sorted()
        case .operator:
            guard let school else { throw VaultError.invalidArgument("name the school to search in") }
            schools = [school]
        case .linkHolder:
            try requireLabelReader(caller, school: school)
            schools = []
        }
        var found: [(school: String, child: String, label: String)] = []
        for row in try vaulting({ try catalog.labels(schools: schools, kind: .child) }) {
            let text = try open(row)
            guard text.range(of: needle, options: [.caseInsensitive, .diacriticInsensitive]) != nil else { continue }
            // Only children with records here: a label set ahead of any evidence finds nothing.
            let filter = RecordFilter(school: row.school, child: row.subject, limit: 1, offset: 0)
            guard try !withoutShredded(try vaulting { try catalog.records(matching: filter) }, id: \.id).isEmpty else { continue }
            found.append((row.school, row.subject, text))
        }
        try audit(AuditEntry(actor: caller.actor, action: .labelRead, outcome: .ok, school: school,
                             reason: "search: \(found.count) children found"))
        return found.sorted { ($0.label, $0.child) < ($1.label, $1.child) }
    }

    // MARK: helpers

    /// Labels are read by those who see the whole school's records (DSL, deputy, DPO).
    private func requireLabelReader(_ caller: Caller, school: String?) throws {
        let grant = try requireCaller(.list, caller, school: school)
        if let principal = caller.principal, grant != .schools {
            try deny(principal, .list, school: school, reason: "labels are shown to those who see the school's records")
            throw VaultError.forbidden("the \(principal.role.rawValue) role may not see children's labels")
        }
    }

    private func validateSubject(_ kind: SubjectLabel.Kind, _ subject: String, _ school: String) throws {
        try vaulting {
            try OpaqueID.validate(school, field: "school id")
            try OpaqueID.validate(subject, field: kind == .child ? "child id" : "concern id")
        }
    }

    /// The label as stored: trimmed, 1 to 200 characters, no control or invisible formatting
    /// characters. The refusal never repeats the text.
    static func validatedLabel(_ text: String, _ kind: SubjectLabel.Kind) throws -> String {
        let what = kind == .child ? "label" : "title"
        let clean = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !clean.isEmpty, clean.count <= maxLabelCharacters else {
            throw VaultError.invalidArgument("a \(what) is 1 to \(maxLabelCharacters) characters")
        }
        guard !clean.unicodeScalars.contains(where: { LogText.needsEscape($0) || isInvisible($0) }) else {
            throw VaultError.invalidArgument("a \(what) may not contain control or invisible characters")
        }
        return clean
    }

    private func labelBinding(_ kind: SubjectLabel.Kind, _ subject: String, _ school: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v1/label")
        b.append(Array(vaultID.utf8))
        b.append(Array(school.utf8))
        b.append(Array(kind.rawValue.utf8))
        b.append(Array(subject.utf8))
        return b.bytes
    }

    func open(_ row: SubjectLabel) throws -> String {
        let keys = try requireKeys("reading a label")
        let secret = try vaulting {
            try keys.unseal(Array(row.sealed), for: labelBinding(row.kind, row.subject, row.school), purpose: .labels(school: row.school))
        }
        return secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }
}
