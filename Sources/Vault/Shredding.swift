import Foundation
import KeyManagement
import Storage

/// Crypto-shredding with two people: one asks (with a reason), a second of the complementary role
/// approves, and the approval executes it. The execution is one transaction (tombstones in,
/// rows and wrapped data keys out, audit events) followed by steps that are each idempotent
/// (deletion ledger, blobs, WAL, period KEKs, certificate), so a crash anywhere is finished on
/// the next start with the master key (`finishUnfinishedShreds`).
public enum ShredPolicy {
    /// The largest number of records one request may name.
    public static let maxRecords = 200_000
    /// A request not approved within this many days must be made again.
    public static let requestLifetimeDays = 30

    /// The two people must differ, and one must be a DPO and the other a DSL or deputy.
    public static func complementary(_ a: Role, _ b: Role) -> Bool {
        let safeguarding: Set<Role> = [.dsl, .deputy]
        return (a == .dpo && safeguarding.contains(b)) || (b == .dpo && safeguarding.contains(a))
    }
}

extension Vault {
    func requestShred(school: String, records ids: [String], reason: String, by caller: Caller) throws -> ShredRequest {
        let principal = try requirePrincipal(.shred, caller)
        let keys = try requireKeys("a shred request")
        try requireSchool(.shred, principal, school: school)
        let reason = try Self.requiredReason(reason)
        var seen = Set<String>()
        let unique = ids.filter { seen.insert($0).inserted }
        guard !unique.isEmpty else { throw VaultError.invalidArgument("a shred request needs at least one record id") }
        guard unique.count <= ShredPolicy.maxRecords else {
            throw VaultError.invalidArgument("a shred request may name at most \(ShredPolicy.maxRecords) records")
        }
        let found = Dictionary(try liveRecords(ids: unique.filter(RecordID.isValid)).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var records: [EvidenceRecord] = []
        records.reserveCapacity(unique.count)
        for id in unique {
            guard RecordID.isValid(id), let record = found[id], record.school == school else {
                try deny(principal, .shred, school: school, record: RecordID.isValid(id) ? id : nil, reason: "no such record in this school")
                throw VaultError.notFound(RecordID.isValid(id) ? id : "(malformed id)")
            }
            records.append(record)
        }
        let holds = try activeHolds(school: school)
        let held = records.filter { r in holds.contains { $0.covers(r) } }.map(\.id)
        if !held.isEmpty {
            try audit(AuditEntry(actor: principal.actor, action: .shredRequest, outcome: .refused, school: school,
                                 reason: "under legal hold: \(held.joined(separator: " "))"))
            throw VaultError.conflict("these records are under legal hold and cannot be shredded: \(held.joined(separator: ", "))")
        }
        let request = ShredRequest(
            id: "shred-" + Hex.encode(randomPublicBytes(8)), school: school, records: unique, reason: reason,
            requestedBy: principal.actor.description, requestedRole: principal.role.rawValue, requestedAtMillis: nowMillis,
            requestedAccount: principal.account)
        do {
            try vaulting {
                try catalog.createShredRequest(
                    request,
                    event: AuditEntry(actor: principal.actor, action: .shredRequest, outcome: .ok, school: school,
                                      reason: "\(request.id): \(unique.count) records"),
                    signer: try keys.auditSigner())
            }
        } catch VaultError.storage(.recordsHeld(let held)) {
            // A hold placed between the look above and the write.
            try audit(AuditEntry(actor: principal.actor, action: .shredRequest, outcome: .refused, school: school,
                                 reason: "under legal hold: \(held.joined(separator: " "))"))
            throw VaultError.conflict("these records are under legal hold and cannot be shredded: \(held.joined(separator: ", "))")
        }
        return request
    }

    func approveShred(id: String, by caller: Caller) throws -> CertificateOfDestruction {
        let principal = try requirePrincipal(.shred, caller)
        try requireRecentFactor(caller, for: "approving a shred")
        let keys = try requireKeys("approving a shred")
        try requireCapability(.shred, principal, school: nil)
        guard let request = try vaulting({ try catalog.shredRequest(id: id) }), principal.schools.contains(request.school) else {
            try deny(principal, .shred, reason: "no such shred request in the user's schools")
            throw VaultError.notFound(LogText.escape(id))
        }
        func refuse(_ why: String) throws -> Never {
            try audit(AuditEntry(actor: principal.actor, action: .shredApprove, outcome: .refused, school: request.school,
                                 reason: "\(request.id): \(why)"))
            throw VaultError.conflict(why)
        }
        if request.state == .void {
            try refuse("shred request \(request.id) is void: a legal hold covered some of its records after it was made; ask again")
        }
        if request.state == .withdrawn {
            try refuse("shred request \(request.id) was withdrawn by the person who asked; a shred needs a fresh request")
        }
        guard request.state == .pending else { try refuse("shred request \(request.id) was already approved") }
        if request.requestedAccount == principal.account || request.requestedBy == principal.actor.description {
            try refuse("a shred needs a second person: the requester cannot approve it")
        }
        guard let requesterRole = Role(rawValue: request.requestedRole), ShredPolicy.complementary(requesterRole, principal.role) else {
            try refuse("a shred is approved by a DSL or deputy when a DPO asked, and by a DPO when a DSL or deputy asked")
        }
        if nowMillis - request.requestedAtMillis > Int64(ShredPolicy.requestLifetimeDays) * 86_400_000 {
            try refuse("shred request \(request.id) is older than \(ShredPolicy.requestLifetimeDays) days; ask again")
        }
        // The first person must still be who they were: the same account (by id: a name revoked
        // and added again, a stolen token replaced, does not bring back what was asked under the
        // old one), not revoked, same role, same school.
        let requester = try vaulting { try catalog.users() }.first { request.requestedAccount != nil && $0.id == request.requestedAccount }
        guard let requester, !requester.isRevoked, requester.role == request.requestedRole, requester.schools.contains(request.school) else {
            try refuse("the requester's access was revoked or changed since the request; ask again")
        }
        var approved = request
        approved.approvedBy = principal.actor.description
        approved.approvedRole = principal.role.rawValue
        approved.approvedAtMillis = nowMillis
        approved.state = .executing
        let live = try liveRecords(ids: request.records)
        var tombstones = live.map { Tombstone(record: $0, shreddedAtMillis: approved.approvedAtMillis!, request: approved, approvedBy: principal.actor.description) }
        let signer = try keys.auditSigner()
        tombstones = try Self.signed(tombstones, by: signer, vaultID: vaultID)
        var events = [AuditEntry(actor: principal.actor, action: .shredApprove, outcome: .ok, school: request.school,
                                 reason: "\(request.id) asked by \(request.requestedBy): \(live.count) records")]
        events += live.map {
            AuditEntry(actor: principal.actor, action: .shred, outcome: .ok, school: $0.school, child: $0.child,
                       concern: $0.concern, record: $0.id, reason: "\(request.id): data key and blob destroyed")
        }
        // A hold now, or one placed and released since the request, voids the request in the same
        // transaction as its refusal: what was asked before an investigation is not approved after it.
        let execution: ShredExecution
        do {
            execution = try vaulting {
                try catalog.executeShred(
                    approved, tombstones: tombstones, events: events,
                    voided: { held in
                        AuditEntry(actor: principal.actor, action: .shredApprove, outcome: .refused, school: request.school,
                                   reason: "\(request.id): under legal hold since the request, now void: \(held.joined(separator: " "))")
                    },
                    signer: signer)
            }
        } catch VaultError.storage(.lifecycleConflict(let why)) {
            try refuse(why)
        }
        if case .voided(let held) = execution {
            throw VaultError.conflict(
                "these records are, or were after the request was made, under legal hold: \(held.joined(separator: ", ")); "
                    + "shred request \(request.id) is now void: once no hold covers them, ask again")
        }
        CrashPoint.hit("shred-executed")
        return try finishShred(approved, keys: keys)
    }

    func shredCertificate(id: String, by caller: Caller) throws -> CertificateOfDestruction {
        try CertificateOfDestruction.verify(try storedCertificate(id: id, by: caller), publicKey: publicKey)
    }

    /// The stored certificate file of an executed request, as stored (not yet verified), for a
    /// user of its school or the operator.
    func storedCertificate(id: String, by caller: Caller) throws -> [UInt8] {
        let principal = try principalOrOperator(.shred, caller)
        if let principal { try requireCapability(.shred, principal, school: nil) }
        guard let request = try vaulting({ try catalog.shredRequest(id: id) }),
              principal.map({ $0.schools.contains(request.school) }) ?? true else {
            if let principal { try deny(principal, .shred, reason: "no such shred request in the user's schools") }
            throw VaultError.notFound(LogText.escape(id))
        }
        guard request.state == .done, let bytes = request.certificate else {
            throw VaultError.conflict("shred request \(request.id) has not been executed yet (state \(request.state.rawValue))")
        }
        return Array(bytes)
    }

    func shredRequest(id: String) throws -> ShredRequest? {
        try vaulting { try catalog.shredRequest(id: id) }
    }

    @discardableResult
    func finishUnfinishedShreds() throws -> Int {
        guard let keys = keyStore else { return 0 }
        let unfinished = try vaulting { try catalog.unfinishedShreds() }
        for request in unfinished { _ = try finishShred(request, keys: keys) }
        return unfinished.count
    }

    /// The idempotent second half of a shred: ledger, blobs, WAL, KEKs, certificate.
    func finishShred(_ request: ShredRequest, keys: KeyStore) throws -> CertificateOfDestruction {
        let tombstones = try vaulting { try catalog.tombstones(request: request.id) }
        let signer = try keys.auditSigner()
        // Unlinking blobs waits on the file system's journal; it runs while the ledger is
        // appended (CPU and one fsync). Both are idempotent, so their order does not matter.
        let unlinking = BlobUnlinking(blobs: blobs, ids: tombstones.map(\.record))
        try vaulting {
            let appended = try DeletionLedger(files: keyFiles, vaultID: vaultID).append(
                tombstones.map { .init(record: $0.record, school: $0.school, sha256: $0.sha256, request: request.id) },
                signer: signer, now: clock())
            CrashPoint.hit("shred-ledger-appended")
            // Also when this finishes a shred a crash cut short after its append: the head must
            // reach every entry, or a later cut of the ledger would go unnoticed.
            if let head = appended.head { try keys.recordLedgerHead(seq: head.seq, hash: head.hash) }
        }
        CrashPoint.hit("shred-ledger")
        try vaulting { try unlinking.wait() }
        CrashPoint.hit("shred-blobs")
        try revokeLinks(holding: tombstones.map(\.record), actor: request.approvedBy.map(AuditActor.recorded) ?? .system,
                        reason: "a record in it was shredded by \(request.id)")
        // A reader holding an old snapshot can keep the WAL from emptying: try a few times; the
        // rows are deleted either way, and the certificate says which it was.
        var walEmptied = false
        for attempt in 0..<5 where !walEmptied {
            if attempt > 0 { usleep(100_000) }
            walEmptied = (try? vaulting { try catalog.purgeWriteAheadLog() }) != nil
        }
        let destroyed = try destroyEmptyKEKs(Set(tombstones.map(\.kekID)), keys: keys, actor: request.approvedBy.map(AuditActor.recorded) ?? .system,
                                             reason: "last record shredded by \(request.id)")
        CrashPoint.hit("shred-keks")
        let allDestroyed = try vaulting { try catalog.destroyedKEKs() }
        let iso = ISO8601DateFormatter()
        func time(_ ms: Int64?) -> String { iso.string(from: Date(timeIntervalSince1970: Double(ms ?? 0) / 1000)) }
        var certificate = CertificateOfDestruction(
            format: CertificateOfDestruction.formatName, version: CertificateOfDestruction.currentVersion, vaultID: vaultID,
            request: request.id, school: request.school, reason: request.reason,
            requestedBy: request.requestedBy, requestedRole: request.requestedRole, requestedAt: time(request.requestedAtMillis),
            approvedBy: request.approvedBy ?? "", approvedRole: request.approvedRole ?? "", approvedAt: time(request.approvedAtMillis),
            executedAt: iso.string(from: clock()),
            method: """
                crypto-shredding: each record's data key (wrapped, 72 bytes) was deleted from the metadata database with \
                SQLite secure_delete \(walEmptied ? "and the write-ahead log emptied" : "(the write-ahead log, busy with readers, is emptied at its next checkpoint)"); \
                its encrypted blob was deleted; the shred was \
                appended to the signed deletion ledger, which every restore replays; a retention-period KEK left with \
                no live record was destroyed, which makes the records undecryptable in every earlier backup taken \
                while they were under it. Where kekDestroyed is false, other live records still use that KEK: it is \
                retired at the next key rotation and destroyed after the key-store backup window. A backup taken \
                before a legal hold or a date of birth moved a record to another KEK holds it under the KEK it had \
                then, which is likewise destroyed at the latest after the next rotation and that window
                """,
            records: tombstones.map {
                .init(id: $0.record, child: $0.child, kind: $0.kind, category: $0.category, createdAt: time($0.createdAtMillis),
                      shreddedAt: time($0.shreddedAtMillis), sha256: $0.sha256, kek: $0.kekID, kekDestroyed: allDestroyed.contains($0.kekID))
            },
            keksDestroyed: destroyed.sorted(), signature: nil)
        try certificate.sign(with: signer)
        let bytes = try certificate.fileBytes()
        do {
            try vaulting {
                try catalog.completeShred(
                    id: request.id, certificate: Data(bytes),
                    events: [AuditEntry(actor: request.approvedBy.map(AuditActor.recorded) ?? .system, action: .shredCertificate, outcome: .ok,
                                        school: request.school, reason: "\(request.id): \(tombstones.count) records, \(destroyed.count) KEKs destroyed")],
                    signer: signer)
            }
        } catch VaultError.storage(.lifecycleConflict) {
            // Another process finished this shred first: its certificate is the one.
            guard let done = try vaulting({ try catalog.shredRequest(id: request.id) }), done.state == .done, let stored = done.certificate else { throw VaultError.conflict("shred request \(request.id) is being finished elsewhere; ask for its certificate later") }
            return try CertificateOfDestruction.verify(Array(stored), publicKey: publicKey)
        }
        return certificate
    }

    /// Signs tombstones on every core (a shred of 100,000 records signs 100,000 of them).
    static func signed(_ tombstones: [Tombstone], by signer: AuditSigner, vaultID: String) throws -> [Tombstone] {
        final class Results: @unchecked Sendable {
            var signatures: [Data]
            var error: Error?
            let lock = NSLock()
            init(_ n: Int) { signatures = Array(repeating: Data(), count: n) }
        }
        let results = Results(tombstones.count)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, tombstones.count / 256))
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var i = w
            while i < tombstones.count {
                do {
                    let signature = Data(try signer.sign(tombstones[i].signedMessage(vaultID: vaultID)))
                    results.lock.withLock { results.signatures[i] = signature }
                } catch {
                    results.lock.withLock { if results.error == nil { results.error = error } }
                    return
                }
                i += workers
            }
        }
        if let error = results.error { throw error }
        var out = tombstones
        for i in out.indices { out[i].signature = results.signatures[i] }
        return out
    }

    /// Destroys those of `candidates` that no live record uses any more (hold KEKs excepted):
    /// first marked in the database (which stops any process committing under them), then gone
    /// from the key store. Returns the ids destroyed.
    func destroyEmptyKEKs(_ candidates: Set<String>, keys: KeyStore, actor: AuditActor, reason: String) throws -> Set<String> {
        // An active hold KEK is never a candidate; a retired one is, like any other.
        let holdKEKs = Set(keys.keks.filter { $0.period == KeyStore.holdPeriod && $0.state == .active }.map(\.id))
        let candidates = candidates.subtracting(holdKEKs).filter { !$0.isEmpty }
        guard !candidates.isEmpty else { return [] }
        let signer = try keys.auditSigner()
        let marked = try vaulting {
            try catalog.markKEKsDestroyed(candidates, reason: reason, events: { ids in
                ids.sorted().map { AuditEntry(actor: actor, action: .kekDestroy, outcome: .ok, reason: "\($0): \(reason)") }
            }, signer: signer)
        }
        // Also finish destructions a crash left marked in the database but not in the key store.
        let pending = try vaulting { try catalog.destroyedKEKs() }.intersection(Set(keys.keks.filter { $0.state != .destroyed }.map(\.id)))
        try vaulting { try keys.destroy(ids: marked.union(pending)) }
        return marked
    }
}

/// Blob deletion started on another thread; `wait` returns when it is done, or throws its error.
final class BlobUnlinking: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var error: Error?

    init(blobs: any BlobStore, ids: [String]) {
        DispatchQueue.global().async { [self] in
            do { try blobs.delete(recordIDs: ids) } catch { self.error = error }
            done.signal()
        }
    }

    func wait() throws {
        done.wait()
        if let error { throw error }
    }
}
