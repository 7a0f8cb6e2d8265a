import Foundation
import KeyManagement
import Storage

/// A sent transfer as its approver gets it: the link's token is shown once and never stored.
public struct SentTransfer: Sendable {
    public var transfer: TransferRow
    public var token: String
    public var downloadPath: String { "/v1/transfer-packages/\(token)" }
    /// Where the encrypted package is kept: its path in the store folder, or its object's
    /// `s3://` address (`Vault.Transfers.openPackage` reads it, for `strongroom transfer approve -o`).
    public var packagePath: String
    /// The package's shared file name.
    let packageName: String
}

/// Approving a draft: a second DSL or deputy. Only then is content read: every record of the
/// child, each with its put event and inclusion proof against a fresh signed checkpoint, packed
/// with a signed manifest and encrypted to the receiving school's pinned key.
extension Vault {
    public static let transferDraftLifetimeDays = 30
    public static let transferLinkDays = 30
    public static let transferLinkDownloads = 5

    func approveTransfer(id: String, receiptURL: String?, by caller: Caller) throws -> SentTransfer {
        let principal = try principalOrOperator(.transfer, caller)
        let who = caller.actor
        try requireRecentFactor(caller, for: "sending a child's file")
        let keys = try requireKeys("sending a transfer")
        let row = try visibleTransfer(id, principal: principal, action: .transferApprove)
        switch row.state {
        case .draft: break
        case .sending: throw VaultError.conflict("the transfer \(id) is being sent by another approval")
        case .sent, .received: throw VaultError.conflict("the transfer \(id) was already sent")
        }
        if row.createdBy == who.description || (row.createdAccount != nil && row.createdAccount == principal?.account) {
            try audit(AuditEntry(actor: who, action: .transferApprove, outcome: .denied, school: row.school, child: row.child,
                                 reason: "\(id): the creator may not approve their own transfer"))
            throw VaultError.forbidden("a transfer is approved by a second DSL or deputy: its creator cannot approve it")
        }
        guard nowMillis - row.createdAtMillis <= Int64(Self.transferDraftLifetimeDays) * 86_400_000 else {
            throw VaultError.conflict("the draft is older than \(Self.transferDraftLifetimeDays) days; draft the transfer again")
        }
        guard let pinned = try verifiedPin(owner: row.school, school: row.toSchool) else {
            throw VaultError.conflict("school \(row.toSchool) is no longer in the school's directory")
        }
        guard pinned.fingerprint == row.toFingerprint else {
            try audit(AuditEntry(actor: who, action: .transferApprove, outcome: .refused, school: row.school, child: row.child,
                                 reason: "\(id): school \(row.toSchool)'s card changed since the draft (fingerprint \(row.toFingerprint), now \(pinned.fingerprint))"))
            throw VaultError.conflict("school \(row.toSchool)'s card changed after this transfer was drafted: check the new card with its DSL, then draft the transfer again")
        }
        guard let ownName = try vaulting({ try catalog.transferNames() })[row.school] else {
            throw VaultError.conflict("school \(row.school) has no transfer card yet: the operator names it with strongroom transfer card")
        }
        purgeEndedTransferFiles()
        let claim = Hex.encode(randomPublicBytes(8))
        do {
            try vaulting { try catalog.claimTransfer(id: id, approver: who.description, account: principal?.account, claim: claim, nowMillis: nowMillis) }
        } catch VaultError.storage(.lifecycleConflict(let why)) {
            throw VaultError.conflict(why)
        }
        do {
            try audit(AuditEntry(actor: who, action: .transferApprove, outcome: .ok, school: row.school, child: row.child,
                                 reason: "\(id): approved, making the package for school \(row.toSchool)"))
            let own = try card(school: row.school, name: ownName, keys: keys)
            return try send(row, claim: claim, approver: who, pinned: pinned, own: own, receiptURL: receiptURL, keys: keys)
        } catch {
            try? vaulting { try catalog.unclaimTransfer(id: id, claim: claim) }
            _ = try? audit(AuditEntry(actor: who, action: .transferApprove, outcome: .failed, school: row.school, child: row.child,
                                      reason: "\(id): not sent: \(VaultError.wrap(error))"))
            throw error
        }
    }

    private func send(
        _ row: TransferRow, claim: String, approver who: AuditActor, pinned: PinnedSchool, own: SchoolCard, receiptURL: String?, keys: KeyStore
    ) throws -> SentTransfer {
        let sentAt = nowMillis
        let records = try transferRecords(school: row.school, child: row.child)
        guard !records.isEmpty else { throw VaultError.conflict("the child has no records left in this school") }
        let total = records.reduce(Int64(0)) { $0 + $1.size }
        guard total <= Self.maxTransferBytes else {
            throw VaultError.invalidArgument("the child's records hold \(total >> 20) MiB; a transfer carries at most \(Self.maxTransferBytes >> 20) MiB")
        }
        let writer = try TransferPackage.zip(transferID: row.id, sentAtMillis: sentAt)
        let holds = try activeHolds(school: row.school)
        var entries: [TransferManifest.Record] = []
        var titles: [String: String?] = [:]
        for (position, record) in records.enumerated() {
            var bytes = try readWhole(record, keys: keys)
            defer { bytes.wipe() }
            let path = TransferPackage.recordPath(position: position, record: record)
            try writer.add(path, bytes, deflate: BundleArchive.deflates(record.sniffedType))
            if titles[record.concern] == nil {
                titles[record.concern] = try vaulting { try catalog.label(school: row.school, kind: .concern, subject: record.concern) }.map(open)
            }
            entries.append(TransferManifest.Record(
                path: path, record: record.id, concern: record.concern, concernTitle: titles[record.concern] ?? nil, kind: record.kind,
                category: record.category, type: record.sniffedType, filename: record.servedFilename, size: record.size,
                sha256: record.sha256, recordedAt: BundleArchive.iso(record.createdAtMillis), recordedAtMillis: record.createdAtMillis,
                recordedBy: record.createdBy, reviewOn: record.reviewOn, derivedFrom: record.derivedFrom,
                holds: holds.filter { $0.covers(record) }.map {
                    .init(id: $0.id, scope: $0.scope.rawValue, reason: $0.reason, placedBy: $0.placedBy, placedAt: BundleArchive.iso($0.placedAtMillis))
                }))
        }
        let (checkpoint, proofs) = try proofs(for: records)
        let checkpointBytes = try vaulting { try checkpoint.fileBytes() }
        let proofBytes = try proofs.bytes()
        let label = try vaulting { try catalog.label(school: row.school, kind: .child, subject: row.child) }.map(open)
        let dob = try vaulting { try catalog.newRecordFacts(school: row.school, child: row.child, concern: "") }.dateOfBirth
        let shares = try vaulting { try catalog.bundles(school: row.school, child: row.child) }
            .filter { $0.0.state == .released }
            .map { bundle, items in
                TransferManifest.Share(
                    bundle: bundle.id, recipient: bundle.recipient, reason: bundle.reason, createdBy: bundle.createdBy, approvedBy: bundle.approvedBy,
                    releasedAt: bundle.releasedAtMillis.map(BundleArchive.iso), receiptAt: bundle.receiptAtMillis.map(BundleArchive.iso),
                    linkRevokedAt: bundle.linkRevokedMillis.map(BundleArchive.iso), records: items.map(\.record))
            }
        var manifest = TransferManifest(
            transfer: row.id, vault: vaultID,
            from: .init(school: own.school, name: own.name, signingKey: own.signingKey, fingerprint: own.fingerprint),
            to: .init(school: pinned.school, name: pinned.name, fingerprint: pinned.fingerprint),
            child: .init(id: row.child, label: label, dateOfBirth: dob), reason: row.reason,
            createdBy: .init(actor: row.createdBy, at: BundleArchive.iso(row.createdAtMillis)),
            approvedBy: .init(actor: who.description, at: BundleArchive.iso(sentAt)),
            sentAt: BundleArchive.iso(sentAt), sentAtMillis: sentAt, receiptURL: receiptURL, readmeSHA256: "",
            checkpointSHA256: Hex.encode(SHA256Hasher.hash(checkpointBytes)), proofsSHA256: Hex.encode(SHA256Hasher.hash(proofBytes)),
            records: entries, shares: shares)
        let readme = Array(TransferPackage.readme(manifest: manifest).utf8)
        manifest.readmeSHA256 = Hex.encode(SHA256Hasher.hash(readme))
        var manifestBytes = try manifest.bytes()
        defer { manifestBytes.wipe() }
        let signer = try vaulting { try keys.auditSigner() }
        let signature = try vaulting {
            try Minisign.sign(manifestBytes, with: signer,
                              trustedComment: "strongroom transfer \(row.id) from school \(row.school) to school \(row.toSchool) sent \(BundleArchive.iso(sentAt))",
                              untrustedComment: "signature from the Strongroom vault key \(Hex.encode(signer.publicKey.keyID))")
        }
        try writer.add("README.txt", readme, deflate: true)
        try writer.add("manifest.json", manifestBytes, deflate: true)
        try writer.add("manifest.json.minisig", Array(signature.utf8), deflate: true)
        try writer.add("audit/checkpoint.json", checkpointBytes, deflate: true)
        try writer.add("audit/proofs.json", proofBytes, deflate: true)
        var zip = try writer.finish()
        defer { zip.resetBytes(in: 0..<zip.count) }

        let recipient = try vaulting { try AgeRecipient.parse(pinned.ageRecipient) }
        let name = try transferFile(row.id, claim: claim)
        let (packageSHA256, packageSize) = try writeEncrypted(zip, to: recipient, area: .transfers, name: name)
        let token = Self.base64url(randomPublicBytes(32))
        let expires = sentAt + Int64(Self.transferLinkDays) * 86_400_000
        let sending = TransferSending(
            claim: claim, sentAtMillis: sentAt, manifestSHA256: Hex.encode(SHA256Hasher.hash(manifestBytes)),
            packageSHA256: packageSHA256, packageSize: packageSize, records: records.map(\.id),
            linkHash: Data(SHA256Hasher.hash(Array(token.utf8))), linkExpiresMillis: expires)
        let events = records.map {
            event($0, actor: who, action: .transferSend, outcome: .ok, reason: "transfer \(row.id) to school \(row.toSchool), drafted by \(row.createdBy)")
        } + [AuditEntry(actor: who, action: .transferSend, outcome: .ok, school: row.school, child: row.child,
                        reason: "\(row.id): \(records.count) record\(records.count == 1 ? "" : "s") sent to school \(row.toSchool) (\(pinned.name)), manifest sha256 \(sending.manifestSHA256); link until \(BundleArchive.iso(expires))")]
        do {
            try vaulting { try catalog.sendTransfer(id: row.id, sending, events: events, signer: signer) }
        } catch {
            try? sharedFiles.delete(.transfers, name: name)
            if case VaultError.storage(.lifecycleConflict(let why)) = error { throw VaultError.conflict(why) }
            throw error
        }
        var sent = row
        sent.state = .sent
        sent.claim = claim
        sent.approvedBy = who.description
        sent.sentAtMillis = sentAt
        sent.manifestSHA256 = sending.manifestSHA256
        sent.packageSHA256 = packageSHA256
        sent.packageSize = packageSize
        sent.recordCount = records.count
        sent.linkExpiresMillis = expires
        return SentTransfer(transfer: sent, token: token, packagePath: sharedFiles.location(.transfers, name: name), packageName: name)
    }

    /// The newest signed checkpoint and, for each record, its put event and inclusion proof in
    /// the tree that checkpoint signs: checked here before they are sent.
    func proofs(for records: [EvidenceRecord]) throws -> (Checkpoint, TransferProofs) {
        guard let checkpoint = try vaulting({ try catalog.latestCheckpoint() }), checkpoint.verifySignature(publicKey: publicKey),
              let root = checkpoint.root else {
            throw VaultError.storage(.auditUnavailable("no signed checkpoint covers the log"))
        }
        let puts = try vaulting { try catalog.putEvents(records: records.map(\.id)) }
        let leaves = try vaulting { try catalog.auditLeafHashes(size: checkpoint.treeSize) }
        let prover = InclusionProver(leaves: leaves)
        guard prover.root == root else {
            throw VaultError.storage(.auditRewritten("the stored events do not lead to the signed checkpoint's root"))
        }
        var entries: [TransferProofs.Entry] = []
        for record in records {
            guard let put = puts[record.id], put.sequence >= 1, put.sequence <= Int64(checkpoint.treeSize), put.computedHash == put.hash else {
                throw VaultError.storage(.auditRewritten("record \(record.id) has no intact put event under the checkpoint"))
            }
            let index = Int(put.sequence - 1)
            let proof = prover.proof(index: index)
            guard AuditTree.verifyInclusion(leafHash: put.hash, index: index, treeSize: checkpoint.treeSize, proof: proof, root: root) else {
                throw VaultError.storage(.auditRewritten("record \(record.id)'s put event is not in the signed tree"))
            }
            entries.append(.init(record: record.id, event: .init(put), inclusionProof: proof.map(Hex.encode)))
        }
        return (checkpoint, TransferProofs(vault: vaultID, treeSize: checkpoint.treeSize, records: entries))
    }

    /// A transfer the caller may act on: for a user, one of their schools with the transfer grant.
    /// Another school's transfer and a missing one are the same `notFound`, and audited.
    func visibleTransfer(_ id: String, principal: Principal?, action: AuditAction) throws -> TransferRow {
        guard RecordID.isValid(id) else {
            if let principal { try deny(principal, .transfer, reason: "malformed transfer id") }
            throw VaultError.notFound("(malformed transfer id)")
        }
        if let principal { try requireCapability(.transfer, principal, school: nil) }
        guard let row = try vaulting({ try catalog.transfer(id: id) }), principal.map({ $0.schools.contains(row.school) }) ?? true else {
            if let principal {
                try audit(AuditEntry(actor: principal.actor, action: action, outcome: .denied, reason: "\(id): no such transfer in the user's schools"))
            }
            throw VaultError.notFound("transfer \(id)")
        }
        return row
    }

    /// A sending attempt's shared file name: `ID-CLAIM.age` (in `STORE/transfers/`, or the
    /// object store's `files/transfers/`).
    func transferFile(_ id: String, claim: String?) throws -> String {
        guard RecordID.isValid(id), let claim, claim.count == 16, claim.allSatisfy(\.isHexDigit) else {
            throw VaultError.linkUnusable("the transfer has no package")
        }
        return "\(id)-\(claim).age"
    }

    /// Removes packages whose transfer was received, whose link expired, or that belong to no
    /// transfer (a failed attempt, a restored store). Returns how many.
    @discardableResult
    func purgeEndedTransferFiles() -> Int {
        guard let files = try? sharedFiles.list(.transfers) else { return 0 }
        let now = nowMillis
        var removed = 0
        for file in files where file.name.hasSuffix(".age") || file.name.contains(".tmp-") {
            let name = file.name
            let id = String(name.prefix(32))
            let claim = name.count == 53 ? String(name.dropFirst(33).prefix(16)) : ""
            var ended = false
            if name.contains(".tmp-") {
                ended = now - Int64(file.modified.timeIntervalSince1970) * 1000 > TransferRow.claimTimeoutMillis
            } else if RecordID.isValid(id), name.count == 53 {
                let found: TransferRow?
                do { found = try catalog.transfer(id: id) } catch { continue }  // a database error: keep it
                if let row = found {
                    ended = row.claim != claim || row.state == .received || (row.state == .sent && (row.linkExpiresMillis ?? 0) <= now)
                } else {
                    ended = true
                }
            }
            if ended, (try? sharedFiles.delete(.transfers, name: name)) != nil { removed += 1 }
        }
        return removed
    }
}
