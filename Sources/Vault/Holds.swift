import Foundation
import KeyManagement
import Storage

/// Legal holds. While a hold is active, no record it covers can be shredded by any path, and the
/// records' data keys sit under their school's hold KEK, so that destroying a retention period's
/// KEK never reaches them. One person places a hold; releasing it takes two (HoldRelease.swift).
extension Vault {
    func placeHold(school: String, scope: Hold.Scope, target: String, reason: String, by caller: Caller) throws -> Hold {
        let principal = try requirePrincipal(.hold, caller)
        try requireRecentFactor(caller, for: "placing a legal hold")
        let keys = try requireKeys("placing a hold")
        try requireSchool(.hold, principal, school: school)
        let reason = try Self.requiredReason(reason)
        let targetValid = scope == .record ? RecordID.isValid(target) : OpaqueID.isValid(target)
        guard targetValid else {
            try deny(principal, .hold, school: school, reason: "malformed \(scope.rawValue) id")
            throw VaultError.invalidArgument("the \(scope.rawValue) id is malformed")
        }
        if scope == .record {
            guard let record = try liveRecord(id: target), record.school == school else {
                try deny(principal, .hold, school: school, record: target, reason: "no such record in this school")
                throw VaultError.notFound(target)
            }
        }
        let hold = Hold(
            id: "hold-" + Hex.encode(randomPublicBytes(8)), school: school, scope: scope, target: target, reason: reason,
            placedBy: principal.actor.description, placedAtMillis: nowMillis)
        try applyRekey(
            records: { try vaulting { try catalog.records(school: school, scope: scope, target: target) } },
            keys: keys, holds: { try activeHolds(school: school) + [hold] }
        ) { updates, count in
            try catalog.placeHold(
                hold, updates: updates,
                event: AuditEntry(
                    actor: principal.actor, action: .holdPlace, outcome: .ok, school: school,
                    child: scope == .child ? target : nil, concern: scope == .concern ? target : nil,
                    record: scope == .record ? target : nil, reason: "\(hold.id): \(count) records held"),
                signer: try keys.auditSigner())
        }
        return hold
    }

    func holds(school: String?, by caller: Caller) throws -> [Hold] {
        let principal = try requirePrincipal(.hold, caller)
        try requireSchool(.hold, principal, school: school)
        let holds = try activeHolds(school: school).filter { principal.schools.contains($0.school) }
        try audit(AuditEntry(actor: principal.actor, action: .holdList, outcome: .ok, school: school, reason: "\(holds.count) active holds"))
        return holds
    }

    /// A reason a person wrote: required, at most 1,000 characters, no control characters.
    static func requiredReason(_ text: String) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw VaultError.invalidArgument("a reason is required") }
        guard trimmed.count <= 1000 else { throw VaultError.invalidArgument("the reason is longer than 1,000 characters") }
        guard !trimmed.unicodeScalars.contains(where: LogText.needsEscape) else {
            throw VaultError.invalidArgument("the reason contains control characters or a backslash")
        }
        return trimmed
    }
}
