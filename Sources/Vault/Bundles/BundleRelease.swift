import Foundation
import KeyManagement
import Redaction
import Storage

/// Releasing a draft: a second DSL or deputy approves it, and only then is any content read.
/// Each item is read, transformed as its plan says, packed with the manifest, its signature and
/// a README into a ZIP, and the ZIP is encrypted to the recipient in the age format. The file
/// waits among the shared files (`bundles`) for its download link; the release, with a `share` event for each
/// record, is one transaction.
extension Vault {
    /// Plaintext read for one bundle, at most, and what it may deliver (a PDF rendered to pixels
    /// grows): it is built in memory, never in a temp file.
    public static let maxBundleBytes = 512 << 20
    public static let maxDeliveredBytes = 1 << 30
    /// Tests only: runs after each item of a release is read (to shred or approve meanwhile).
    nonisolated(unsafe) static var afterBundleItemRead: (() -> Void)?
    /// A draft not released within this many days must be drafted again.
    public static let draftLifetimeDays = 30
    /// age's own default work factor for a passphrase (about a second to open).
    static let passphraseWorkFactor = 18

    func approveBundle(id: String, link: LinkTerms = LinkTerms(), by caller: Caller,
                              redactor: Redactor = Redactor()) throws -> ReleasedBundle {
        let principal = try principalOrOperator(.share, caller)
        let who = caller.actor
        try requireRecentFactor(caller, for: "releasing a bundle")
        let keys = try requireKeys("releasing a bundle")
        let bundle = try visibleBundle(id, principal: principal, action: .bundleApprove)
        guard bundle.state != .released else { throw VaultError.conflict("the bundle \(id) is already released") }
        guard bundle.state != .returned else {
            throw VaultError.conflict("the draft \(id) was sent back to its creator; it cannot be released (they may draft it again)")
        }
        guard bundle.createdBy != who.description else {
            try audit(AuditEntry(actor: who, action: .bundleApprove, outcome: .denied, school: bundle.school,
                                 reason: "\(id): the creator may not approve their own bundle"))
            throw VaultError.forbidden("a bundle is released by a second DSL or deputy: its creator cannot approve it")
        }
        guard (1...90).contains(link.expiresInDays) else { throw VaultError.invalidArgument("a link lasts 1 to 90 days") }
        if let max = link.maxDownloads, !(1...100).contains(max) { throw VaultError.invalidArgument("a link allows 1 to 100 downloads") }
        guard let recipient = try vaulting({ try catalog.recipients(school: bundle.school) }).first(where: { $0.name == bundle.recipient }) else {
            throw VaultError.conflict("the recipient \(LogText.escape(bundle.recipient)) is no longer in the school's directory")
        }
        guard nowMillis - bundle.createdAtMillis <= Int64(Self.draftLifetimeDays) * 86_400_000 else {
            throw VaultError.conflict("the draft is older than \(Self.draftLifetimeDays) days; draft the bundle again")
        }
        let choices = try unseal(bundle, keys: keys)
        purgeEndedBundleFiles()
        // One approval at a time: the claim is taken before anything is read or written, and
        // names this attempt's file, so an attempt that loses its claim touches nothing else.
        let claim = Hex.encode(randomPublicBytes(8))
        do {
            try vaulting { try catalog.claimBundle(id: id, approver: who.description, claim: claim, nowMillis: nowMillis) }
        } catch VaultError.storage(.lifecycleConflict(let why)) {
            throw VaultError.conflict(why)
        }
        do {
            try audit(AuditEntry(actor: who, action: .bundleBuild, outcome: .ok, school: bundle.school,
                                 reason: "\(id): reading \(choices.count) record\(choices.count == 1 ? "" : "s") to release"))
            return try release(bundle, claim: claim, choices: choices, recipient: recipient, link: link, by: who, keys: keys,
                               redactor: redactor)
        } catch {
            try? vaulting { try catalog.unclaimBundle(id: id, claim: claim) }
            // The build's audit trail ends with why nothing was released.
            _ = try? audit(AuditEntry(actor: who, action: .bundleApprove, outcome: .failed, school: bundle.school,
                                      reason: "\(id): not released: \(VaultError.wrap(error))"))
            throw error
        }
    }

    /// Reads, transforms, packs, signs and encrypts the draft's items, then commits the release.
    private func release(
        _ bundle: BundleRow, claim: String, choices: [BundleItemRequest], recipient: Recipient, link: LinkTerms, by who: AuditActor, keys: KeyStore,
        redactor: Redactor
    ) throws -> ReleasedBundle {
        let id = bundle.id
        let releasedAt = nowMillis
        let archive = try BundleArchive(bundleID: id, releasedAtMillis: releasedAt)
        var items: [BuiltItem] = []
        var read: [String] = []
        var total: Int64 = 0, delivering = 0
        var renewedAt = releasedAt
        for (position, choice) in choices.enumerated() {
            guard let record = try? bundleRecord(choice.record, school: bundle.school, principal: nil) else {
                throw VaultError.conflict("item \(position + 1): record \(choice.record) is no longer in the vault; draft the bundle again without it")
            }
            var plan = try Self.plan(choice, record: record, position: position)
            var source = record
            if plan == .redactedCopy {
                source = try pinnedCopy(choice, of: record, position: position)
                plan = .pdf([])
            }
            read.append(source.id)
            if source.id != record.id { read.append(record.id) }
            total += source.size
            guard total <= Int64(Self.maxBundleBytes) else {
                throw VaultError.invalidArgument("the bundle's items exceed \(Self.maxBundleBytes >> 20) MiB; share them in more than one bundle")
            }
            var original = try readWhole(source, keys: keys)
            defer { original.wipe() }
            Self.afterBundleItemRead?()
            // A claim is taken over only after an hour without renewal: renewing once a minute (a
            // durable write) keeps it, without a write per item.
            if nowMillis - renewedAt >= 60_000 {
                do { try vaulting { try catalog.renewClaim(id: id, claim: claim, nowMillis: nowMillis) } } catch VaultError.storage(.lifecycleConflict(let why)) {
                    throw VaultError.conflict(why)
                }
                renewedAt = nowMillis
            }
            var delivered = try deliver(original, plan: plan, record: source, position: position, redactor: redactor)
            if source.id != record.id {
                delivered.applied = "the redacted PDF copy \(source.id) uploaded by \(source.createdBy) is shared in place of the original; "
                    + (delivered.applied ?? "")
            }
            var item = BuiltItem(
                record: record, mode: choice.mode,
                path: "items/\(String(format: "%02d", position + 1))-\(record.kind)-\(record.id.prefix(8)).\(delivered.fileExtension)",
                bytes: delivered.bytes, mimeType: delivered.mimeType, originalSHA256: record.sha256, processing: delivered.applied,
                redactedCopy: source.id == record.id ? nil : source.id)
            delivered.bytes = []  // the item holds the only reference: wiped in place once archived
            delivering += item.bytes.count
            guard delivering <= Self.maxDeliveredBytes else {
                throw VaultError.invalidArgument("the bundle would exceed \(Self.maxDeliveredBytes >> 20) MiB once redacted; share the items in more than one bundle")
            }
            try archive.add(&item)
            items.append(item)
        }

        let expires = releasedAt + Int64(link.expiresInDays) * 86_400_000
        let token = Self.base64url(randomPublicBytes(32)), receiptToken = Self.base64url(randomPublicBytes(32))
        let signer = try vaulting { try keys.auditSigner() }
        var zip = try archive.finish(
            bundle: bundle, approvedBy: who.description, releasedAtMillis: releasedAt, recipient: recipient, vaultID: vaultID,
            signer: signer, receiptPath: "/v1/receipts/\(receiptToken)", expiresAtMillis: expires)
        defer { zip.resetBytes(in: 0..<zip.count) }

        var passphrase: String?
        let ageRecipient: AgeRecipient
        if let text = recipient.ageRecipient {
            ageRecipient = try vaulting { try AgeRecipient.parse(text) }
        } else {
            let phrase = Self.makePassphrase()
            passphrase = phrase
            var bytes = Array(phrase.utf8)
            defer { bytes.wipe() }
            let secret = try SecretBytes(count: bytes.count)
            secret.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
            ageRecipient = .scrypt(passphrase: secret, workFactor: Self.passphraseWorkFactor)
        }
        let name = try bundleFile(id, claim: claim)
        let (archiveSHA256, archiveSize) = try writeEncrypted(zip, to: ageRecipient, area: .bundles, name: name)
        var release = BundleRelease(
            approvedBy: who.description, releasedAtMillis: releasedAt, archiveSHA256: archiveSHA256,
            archiveSize: archiveSize, linkHash: Data(SHA256Hasher.hash(Array(token.utf8))), linkExpiresMillis: expires,
            linkMaxDownloads: link.maxDownloads)
        release.receiptHash = Data(SHA256Hasher.hash(Array(receiptToken.utf8)))
        release.claim = claim
        release.records = read
        for (position, item) in items.enumerated() { if let copy = item.redactedCopy { release.sources[position] = copy } }
        let shares = items.flatMap { item -> [AuditEntry] in
            let entry = event(item.record, actor: who, action: .share, outcome: .ok,
                              reason: "bundle \(id) to \(recipient.name), \(item.mode.rawValue), drafted by \(bundle.createdBy): \(bundle.reason)")
            guard let copy = item.redactedCopy, let copyRecord = try? liveRecord(id: copy) else { return [entry] }
            return [entry, event(copyRecord, actor: who, action: .share, outcome: .ok,
                                 reason: "bundle \(id) to \(recipient.name), as the redacted copy of \(item.record.id)")]
        }
        let limit = link.maxDownloads.map { ", at most \($0) download\($0 == 1 ? "" : "s")" } ?? ""
        let released = AuditEntry(
            actor: who, action: .bundleRelease, outcome: .ok, school: bundle.school,
            reason: "\(id): \(items.count) item\(items.count == 1 ? "" : "s") to \(recipient.name), drafted by \(bundle.createdBy); link until \(BundleArchive.iso(expires))\(limit)")
        do {
            try vaulting { try catalog.releaseBundle(id: id, release, events: shares + [released], signer: signer) }
        } catch {
            try? sharedFiles.delete(.bundles, name: name)
            if case VaultError.storage(.lifecycleConflict(let why)) = error { throw VaultError.conflict(why) }
            throw error
        }
        var row = bundle
        row.state = .released
        row.claim = claim
        row.approvedBy = who.description
        row.releasedAtMillis = releasedAt
        row.sealedItems = nil
        row.sealedKEK = nil
        row.archiveSHA256 = release.archiveSHA256
        row.archiveSize = release.archiveSize
        row.linkExpiresMillis = expires
        row.linkMaxDownloads = link.maxDownloads
        return ReleasedBundle(bundle: row, token: token, receiptToken: receiptToken, passphrase: passphrase)
    }

    /// Encrypts `zip` to the recipient straight into the shared file `name` (written durably and
    /// atomically): only ciphertext is ever stored. Returns its SHA-256 and size.
    func writeEncrypted(_ zip: Data, to recipient: AgeRecipient, area: SharedArea, name: String) throws -> (String, Int64) {
        try vaulting {
            var hasher = SHA256Hasher()
            var size: Int64 = 0
            try sharedFiles.write(area, name: name) { write in
                let age = try AgeEncryptor(recipients: [recipient])
                try withoutActuallyEscaping(write) { write in
                    let sink: ([UInt8]) throws -> Void = { piece in
                        hasher.update(piece)
                        size += Int64(piece.count)
                        try piece.withUnsafeBytes { try write($0) }
                    }
                    try zip.withUnsafeBytes { try age.write($0, sink) }
                    try age.finish(sink)
                }
            }
            return (Hex.encode(hasher.finalize()), size)
        }
    }

    /// A bundle the caller may act on: for a user, one of their schools with the share grant.
    /// Another school's bundle and a missing one are the same `notFound`, and audited.
    func visibleBundle(_ id: String, principal: Principal?, action: AuditAction) throws -> BundleRow {
        guard RecordID.isValid(id) else {
            if let principal { try deny(principal, .share, reason: "malformed bundle id") }
            throw VaultError.notFound("(malformed bundle id)")
        }
        if let principal { try requireCapability(.share, principal, school: nil) }
        guard let bundle = try vaulting({ try catalog.bundle(id: id) }), principal.map({ $0.schools.contains(bundle.school) }) ?? true else {
            if let principal {
                try audit(AuditEntry(actor: principal.actor, action: action, outcome: .denied, reason: "\(id): no such bundle in the user's schools"))
            }
            throw VaultError.notFound("bundle \(id)")
        }
        return bundle
    }

    /// A release attempt's shared file name: `ID-CLAIM.age` (in `STORE/bundles/`, or the object
    /// store's `files/bundles/`).
    func bundleFile(_ id: String, claim: String?) throws -> String {
        guard RecordID.isValid(id), let claim, claim.count == 16, claim.allSatisfy(\.isHexDigit) else {
            throw VaultError.linkUnusable("the bundle has no file")
        }
        return "\(id)-\(claim).age"
    }

    /// A record's whole plaintext, authenticated, in memory (the caller zeroes it).
    func readWhole(_ record: EvidenceRecord, keys: KeyStore) throws -> [UInt8] {
        try vaulting {
            let download = try openRecord(record, keys: keys, onFailure: nil)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(Int(record.size))
            while try download.next({ bytes.append(contentsOf: $0) }) {}
            return bytes
        }
    }

    /// The bytes that go into the bundle for one item.
    func deliver(_ original: [UInt8], plan: BundleItemPlan, record: EvidenceRecord, position: Int, redactor: Redactor) throws -> RedactedFile {
        do {
            switch plan {
            case .image(let format, let rects): return try redactor.image(original, format: format, rects: rects)
            case .pdf(let rects): return try redactor.pdf(original, rects: rects)
            case .text(let terms, let spans): return try redactor.text(original, terms: terms, spans: spans)
            case .redactedCopy: throw VaultError.invalidArgument("item \(position + 1): the redacted copy was not looked up")
            case .bytes:
                let type = EvidenceType(mime: record.sniffedType)
                let ext = type?.extensions.first ?? "bin"
                return RedactedFile(bytes: original, fileExtension: ext, mimeType: type?.canonicalMIME ?? record.sniffedType, applied: nil)
            }
        } catch let error as RedactionError {
            let which = "item \(position + 1) (record \(record.id))"
            switch error {
            case .rectangleOutside, .pages, .text: throw VaultError.invalidArgument("\(which): \(error)")
            case .unreadable, .tooManyPixels, .imaging: throw VaultError.cannotRedact("\(which): \(error)")
            }
        }
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// 25 characters from 32 (no l, o, 0 or 1, which look alike), in five groups: 125 bits.
    static func makePassphrase() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)
        let random = randomPublicBytes(25)
        let letters = random.map { Character(UnicodeScalar(alphabet[Int($0) % 32])) }
        return stride(from: 0, to: 25, by: 5).map { String(letters[$0..<$0 + 5]) }.joined(separator: "-")
    }
}
