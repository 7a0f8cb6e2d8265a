import Foundation
import KeyManagement
import Storage

/// Drafting a bundle: a DSL or deputy chooses records of one school, how each goes in, a
/// recipient and a reason. Nothing is read or sent yet; a second DSL or deputy releases it.
extension Vault {
    public static let maxBundleItems = 200
    /// The KEK period under which drafts' choices are sealed (one KEK per school).
    static let bundleKEKPeriod = "bundles"

    func createBundle(_ request: BundleRequest, by caller: Caller) throws -> BundleRow {
        let principal = try principalOrOperator(.share, caller)
        let who = caller.actor
        if let principal { try requireSchool(.share, principal, school: request.school) }
        try vaulting { try OpaqueID.validate(request.school, field: "school id") }
        let keys = try requireKeys("a bundle")
        let reason = try Self.directoryText(request.reason, field: "reason", limit: 1000, required: true, subject: "the bundle's")
        guard let recipient = try vaulting({ try catalog.recipients(school: request.school) }).first(where: { $0.name == request.recipient }) else {
            throw VaultError.invalidArgument("the school has no recipient named \(LogText.escape(request.recipient)); add one first")
        }
        guard Set(request.items.map(\.record)).count == request.items.count else {
            throw VaultError.invalidArgument("a record is listed twice")
        }
        let selected = try selectedItems(request)
        guard (1...Self.maxBundleItems).contains(selected.count) else {
            throw VaultError.invalidArgument("a bundle holds 1 to \(Self.maxBundleItems) items; this one would hold \(selected.count)")
        }
        var rows: [BundleItemRow] = []
        var choices = selected
        let id = RecordID.generate()
        for (position, item) in selected.enumerated() {
            let record = try bundleRecord(item.record, school: request.school, principal: principal)
            choices[position].copy = nil
            choices[position].copySHA256 = nil
            if try Self.plan(item, record: record, position: position) == .redactedCopy {
                // The copy is pinned now: the release ships exactly this one, or nothing.
                let copy = try redactedCopy(of: record, position: position)
                choices[position].copy = copy.id
                choices[position].copySHA256 = copy.sha256
            }
            rows.append(BundleItemRow(bundle: id, position: position, record: record.id, school: record.school, child: record.child,
                                      mode: item.mode.rawValue))
        }
        // The choices name third parties (terms): sealed under the school's bundle KEK.
        let (kekID, kek) = try vaulting { try keys.kek(school: request.school, period: Self.bundleKEKPeriod) }
        try auditCreatedKEKs(keys, actor: who)
        let sealed = try Self.seal(choices, kek: kek, binding: bundleBinding(id: id, school: request.school))
        let row = BundleRow(
            id: id, school: request.school, recipient: recipient.name, reason: reason, createdBy: who.description, createdAtMillis: nowMillis,
            sealedItems: Data(sealed), sealedKEK: kekID)
        try vaulting {
            try catalog.addBundle(row, items: rows, event: AuditEntry(
                actor: who, action: .bundleCreate, outcome: .ok, school: request.school,
                reason: "\(id): draft of \(rows.count) item\(rows.count == 1 ? "" : "s") for \(recipient.name): \(reason)"),
                signer: signer)
        }
        return row
    }

    /// The request's items, then every other record of its children and concerns (as-is, oldest
    /// first), less those it leaves out. Redacted copies are never added this way: they go out
    /// as their original's redaction.
    func selectedItems(_ request: BundleRequest) throws -> [BundleItemRequest] {
        var items = request.items
        let leaveOut = Set(request.leaveOut ?? [])
        var seen = Set(items.map(\.record)).union(leaveOut)
        let filters = try (request.children ?? []).map { child -> RecordFilter in
            try vaulting { try OpaqueID.validate(child, field: "child id") }
            return RecordFilter(school: request.school, child: child)
        } + (request.concerns ?? []).map { concern -> RecordFilter in
            try vaulting { try OpaqueID.validate(concern, field: "concern id") }
            return RecordFilter(school: request.school, concern: concern)
        }
        for filter in filters {
            for record in try withoutShredded(try vaulting { try catalog.records(matching: filter) }, id: \.id)
            where record.derivedFrom == nil && !seen.contains(record.id) {
                // An original with a redacted copy was meant to go out redacted: it must be chosen.
                if try !vaulting({ try catalog.derivedRecords(of: record.id) }).isEmpty {
                    throw VaultError.invalidArgument(
                        "record \(record.id) has a redacted copy: list it as an item (mode redacted shares the copy) or leave it out")
                }
                seen.insert(record.id)
                items.append(BundleItemRequest(record: record.id, mode: .asIs))
                guard items.count <= Self.maxBundleItems else { return items }
            }
        }
        return items.filter { !leaveOut.contains($0.record) }
    }

    /// A record a bundle of `school` may include: live and of that school. For a user, anything
    /// else is the same `notFound` (and a denial in the audit log) as for a download.
    func bundleRecord(_ id: String, school: String, principal: Principal?) throws -> EvidenceRecord {
        if let principal {
            let record = try authorizedRecord(id: id, by: principal, for: .share)
            guard record.school == school else {
                try deny(principal, .share, record: id, reason: "record of another school than the bundle's")
                throw VaultError.notFound(id)
            }
            return record
        }
        guard RecordID.isValid(id), let record = try liveRecord(id: id), record.school == school else { throw VaultError.notFound(id) }
        return record
    }

    /// The newest live redacted PDF uploaded of `record`; refused with what to do if there is none.
    func redactedCopy(of record: EvidenceRecord, position: Int) throws -> EvidenceRecord {
        let copies = try withoutShredded(try vaulting { try catalog.derivedRecords(of: record.id) }, id: \.id)
        guard let copy = copies.first(where: { $0.school == record.school && EvidenceType(mime: $0.sniffedType) == .pdf }) else {
            let type = EvidenceType(mime: record.sniffedType)?.displayName ?? record.sniffedType
            throw VaultError.invalidArgument("item \(position + 1) (record \(record.id)): \(type) cannot be redacted in place; "
                + "upload a redacted PDF of it with derivedFrom=\(record.id) and it is shared in its place, "
                + "or include the original as-is with confirm: true")
        }
        return copy
    }

    /// The copy pinned at draft time, still live and unchanged.
    func pinnedCopy(_ choice: BundleItemRequest, of record: EvidenceRecord, position: Int) throws -> EvidenceRecord {
        guard let id = choice.copy, let copy = try liveRecord(id: id), copy.derivedFrom == record.id, copy.sha256 == choice.copySHA256 else {
            throw VaultError.conflict("item \(position + 1) (record \(record.id)): its redacted copy was shredded or replaced since the draft; draft the bundle again")
        }
        return copy
    }

    /// The associated data that binds sealed choices to their vault, school and bundle.
    func bundleBinding(id: String, school: String) -> [UInt8] {
        Array("strongroom bundle items v1\0\(vaultID)\0\(school)\0\(id)".utf8)
    }

    static func seal(_ items: [BundleItemRequest], kek: SecretBytes, binding: [UInt8]) throws -> [UInt8] {
        var json = try JSONEncoder().encode(items)
        defer { json.resetBytes(in: 0..<json.count) }
        let secret = try SecretBytes(count: json.count)
        defer { secret.zero() }
        _ = secret.withUnsafeMutableBytes { json.copyBytes(to: $0) }
        return try vaulting { try KeyWrap.wrap(secret, under: kek, associatedData: binding) }
    }

    func unseal(_ bundle: BundleRow, keys: KeyStore) throws -> [BundleItemRequest] {
        guard let sealed = bundle.sealedItems, let kekID = bundle.sealedKEK else {
            throw VaultError.conflict("the bundle is not a draft any more")
        }
        let kek = try vaulting { try keys.kek(id: kekID) }
        let secret = try vaulting {
            try KeyWrap.unwrap(Array(sealed), under: kek, associatedData: bundleBinding(id: bundle.id, school: bundle.school),
                               context: "bundle \(bundle.id)")
        }
        defer { secret.zero() }
        return try secret.withUnsafeBytes {
            do { return try JSONDecoder().decode([BundleItemRequest].self, from: Data($0)) } catch {
                throw VaultError.storage(.database("the draft's sealed items do not decode"))
            }
        }
    }
}
