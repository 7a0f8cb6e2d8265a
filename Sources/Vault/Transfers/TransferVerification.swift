import Foundation
import KeyManagement
import Storage
import ZIPFoundation

/// A received package that passed every check, with each record's bytes (wiped by `wipe`).
struct VerifiedPackage {
    var manifest: TransferManifest
    var manifestSHA256: String
    var sender: PinnedSchool
    var records: [(entry: TransferManifest.Record, bytes: [UInt8])]
    /// When the sender's log says each record was stored (its put event's time), by record id.
    var storedAtMillis: [String: Int64] = [:]

    mutating func wipe() {
        for i in records.indices { records[i].bytes.wipe() }
        records = []
    }
}

/// Checking a received package (docs/transfers.md, "Receiving"). Nothing is stored unless every
/// check holds; the first that fails refuses the whole package, naming what failed:
/// the encryption, the addressee, the sender's pinned card, the manifest's signature, the
/// checkpoint, each record's put event and inclusion proof, each record's bytes.
extension Vault {
    /// At most this much plaintext in a package (the records' limit, plus room for the rest).
    static let maxPackagePlaintext = Int(maxTransferBytes) + (16 << 20)
    /// The largest package (ciphertext) a route accepts: the plaintext limit and age's overhead.
    public static var maxPackagePlaintextBytes: Int { maxPackagePlaintext + maxPackagePlaintext / 4096 + 4096 }
    static let maxPackageEntries = maxTransferRecords + 8
    /// How far a record row's time may be from its put event's (the group commit's wait).
    static let maxCommitLatencyMillis: Int64 = 600_000

    func verifyPackage(_ ciphertext: [UInt8], school: String, keys: KeyStore) throws -> VerifiedPackage {
        func refuse(_ why: String) -> VaultError { .transferRefused(why) }
        var zip = try decryptPackage(ciphertext, keys: keys)
        defer { zip.wipe() }
        var files = try unzipPackage(zip)
        defer {
            // The keys first: iterating the dictionary's own key view while wiping would make
            // it copy its storage, and wipe the copies.
            for key in Array(files.keys) { files[key]?.wipe() }
        }

        guard let manifestBytes = files["manifest.json"], let signature = files["manifest.json.minisig"] else {
            throw refuse("the package has no manifest.json and signature: it is not a Strongroom transfer package")
        }
        let manifest: TransferManifest
        do { manifest = try JSONDecoder().decode(TransferManifest.self, from: Data(manifestBytes)) } catch {
            throw refuse("the manifest is not a transfer manifest (or was changed so that it no longer reads)")
        }
        guard RecordID.isValid(manifest.transfer), manifest.records.allSatisfy({ RecordID.isValid($0.record) && OpaqueID.isValid($0.concern) }),
              OpaqueID.isValid(manifest.child.id) else {
            throw refuse("the manifest names a transfer, record, concern or child that is not a valid id")
        }
        guard manifest.format == TransferManifest.formatName else { throw refuse("the manifest's format is \(LogText.escape(String(manifest.format.prefix(64)))), not \(TransferManifest.formatName)") }
        guard manifest.to.school == school else {
            throw refuse("the package is addressed to school \(LogText.escape(String(manifest.to.school.prefix(64)))), not to school \(school)")
        }
        let from = String(manifest.from.school.prefix(64))
        guard OpaqueID.isValid(manifest.from.school), let sender = try verifiedPin(owner: school, school: manifest.from.school) else {
            throw refuse("the sending school \(LogText.escape(from)) is not in your directory of schools: add its card, after checking its fingerprint with its DSL, and import again")
        }
        guard sender.signingKey == manifest.from.signingKey, let senderKey = VaultPublicKey(text: sender.signingKey) else {
            throw refuse("the package is signed with a key that differs from school \(from)'s pinned card: its keys changed, and a DSL must accept its new card before anything from it is received")
        }
        guard Minisign.verify(manifestBytes, signature: String(decoding: signature, as: UTF8.self), publicKey: senderKey) != nil else {
            throw refuse("the manifest's signature does not verify with school \(from)'s pinned key: the manifest was changed after it was signed")
        }
        // The audit checkpoint: signed by the same key, and the one the manifest names.
        guard let checkpointBytes = files["audit/checkpoint.json"], let checkpoint = Checkpoint.parse(checkpointBytes),
              checkpoint.verifySignature(publicKey: senderKey), checkpoint.vaultID == manifest.vault, let root = checkpoint.root else {
            throw refuse("the audit checkpoint is missing, or not signed by school \(from)'s key: it was changed")
        }
        guard Hex.encode(SHA256Hasher.hash(checkpointBytes)) == manifest.checkpointSHA256 else {
            throw refuse("the audit checkpoint is not the one the manifest names: it was replaced")
        }
        guard let proofBytes = files["audit/proofs.json"], let proofs = try? JSONDecoder().decode(TransferProofs.self, from: Data(proofBytes)),
              proofs.format == TransferProofs.formatName, proofs.vault == manifest.vault, proofs.treeSize == checkpoint.treeSize else {
            throw refuse("the inclusion proofs are missing or do not read as proofs against the package's checkpoint")
        }
        let byRecord = Dictionary(proofs.records.map { ($0.record, $0) }, uniquingKeysWith: { a, _ in a })
        var storedAt: [String: Int64] = [:]
        var expected = Set(["README.txt", "manifest.json", "manifest.json.minisig", "audit/checkpoint.json", "audit/proofs.json"])
        guard Set(manifest.records.map(\.record)).count == manifest.records.count, !manifest.records.isEmpty else {
            throw refuse("the manifest lists no records, or one record twice")
        }
        for entry in manifest.records {
            let r = String(entry.record.prefix(64))
            guard let proof = byRecord[entry.record], let event = proof.event.auditEvent else {
                throw refuse("record \(r) has no put event and inclusion proof in the package")
            }
            guard event.computedHash == event.hash else {
                throw refuse("record \(r)'s put event was changed: its content no longer has its hash")
            }
            guard event.action == AuditAction.put.rawValue, event.outcome == AuditOutcome.ok.rawValue, event.record == entry.record,
                  event.school == manifest.from.school, event.child == manifest.child.id, event.concern == entry.concern else {
                throw refuse("record \(r)'s event is not the put event of that record in that school and child")
            }
            let path = proof.inclusionProof.compactMap(Hex.decode)
            guard path.count == proof.inclusionProof.count, path.allSatisfy({ $0.count == 32 }), event.sequence >= 1,
                  AuditTree.verifyInclusion(leafHash: event.hash, index: Int(event.sequence - 1), treeSize: checkpoint.treeSize, proof: path, root: root) else {
                throw refuse("record \(r)'s inclusion proof does not lead to the root of school \(from)'s signed checkpoint: the proof or the event was changed")
            }
            let facts = event.putFacts
            // The row's time is taken just before the event is appended: they differ by the
            // commit's latency. The event's time is the one that counts (and is kept).
            let (gap, overflow) = event.timeMillis.subtractingReportingOverflow(entry.recordedAtMillis)
            guard facts.size == entry.size, facts.sha256 == nil || facts.sha256 == entry.sha256, !overflow,
                  gap.magnitude <= UInt64(Self.maxCommitLatencyMillis) else {
                throw refuse("record \(r): the manifest's size, SHA-256 or time differs from what school \(from)'s log says was stored")
            }
            guard facts.kind == entry.kind, facts.type == entry.type, event.actor == entry.recordedBy, facts.derivedFrom == entry.derivedFrom else {
                throw refuse("record \(r): the manifest's kind, type, author or redacted-copy link differs from what school \(from)'s log says was stored")
            }
            storedAt[entry.record] = event.timeMillis
            expected.insert(entry.path)
        }
        guard Hex.encode(SHA256Hasher.hash(proofBytes)) == manifest.proofsSHA256 else {
            throw refuse("the inclusion proofs are not the ones the manifest names: they were replaced")
        }
        guard let readme = files["README.txt"], Hex.encode(SHA256Hasher.hash(readme)) == manifest.readmeSHA256 else {
            throw refuse("README.txt differs from the one the manifest names")
        }
        if let extra = files.keys.sorted().first(where: { !expected.contains($0) }) {
            throw refuse("the package holds a file the manifest does not list: \(LogText.escape(String(extra.prefix(120))))")
        }
        var records: [(entry: TransferManifest.Record, bytes: [UInt8])] = []
        for entry in manifest.records {
            guard let bytes = files[entry.path] else { throw refuse("record \(entry.record.prefix(64)) is missing from the package") }
            guard Int64(bytes.count) == entry.size, Hex.encode(SHA256Hasher.hash(bytes)) == entry.sha256 else {
                throw refuse("record \(entry.record.prefix(64)) does not match its SHA-256 in the manifest: its bytes were changed")
            }
            records.append((entry, bytes))
            files[entry.path] = nil
        }
        return VerifiedPackage(manifest: manifest, manifestSHA256: Hex.encode(SHA256Hasher.hash(manifestBytes)), sender: sender, records: records,
                               storedAtMillis: storedAt)
    }

    /// Opens the age encryption with the vault's transfer key.
    func decryptPackage(_ ciphertext: [UInt8], keys: KeyStore) throws -> [UInt8] {
        let key = try vaulting { try keys.transferKey() }
        let identity = try vaulting { try AgeIdentity(secretKey: key.secret) }
        do {
            return try AgeDecryptor.decrypt(ciphertext, identity: identity, maxPlaintext: Self.maxPackagePlaintext)
        } catch let error as AgeError {
            switch error {
            case .notAgeFile: throw VaultError.transferRefused("not a transfer package: the file is not age-encrypted")
            case .noMatchingRecipient: throw VaultError.transferRefused("the package is not encrypted to this vault's transfer key: it was meant for another school")
            case .tooLarge: throw VaultError.transferRefused("the package is larger than a transfer may be (\(Self.maxPackagePlaintext >> 20) MiB)")
            default: throw VaultError.transferRefused("the package's encryption does not verify: the file is damaged or was changed (\(error))")
            }
        }
    }

    /// The package's files by path (below its one top folder), each read with its size checked
    /// as it inflates: a ZIP that lies about sizes, holds links, folders outside the package or a
    /// path twice is refused.
    func unzipPackage(_ zip: [UInt8]) throws -> [String: [UInt8]] {
        func refuse(_ why: String) -> VaultError { .transferRefused("the package's contents are not a transfer package: \(why)") }
        let archive: Archive
        do { archive = try Archive(data: Data(zip), accessMode: .read) } catch { throw refuse("not a ZIP") }
        var files: [String: [UInt8]] = [:]
        var folder: String?
        var total = 0
        var count = 0
        for entry in archive {
            count += 1
            guard count <= Self.maxPackageEntries else { throw refuse("more than \(Self.maxPackageEntries) files") }
            guard entry.type == .file else { throw refuse("it holds a folder entry or a link") }
            let parts = entry.path.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }), parts[0].hasPrefix("transfer-") else {
                throw refuse("a path outside its transfer folder")
            }
            if folder == nil { folder = String(parts[0]) }
            guard folder == String(parts[0]) else { throw refuse("more than one transfer folder") }
            let path = parts.dropFirst().joined(separator: "/")
            guard files[path] == nil else { throw refuse("a file is there twice") }
            let declared = Int(clamping: entry.uncompressedSize)
            guard declared <= Self.maxPackagePlaintext - total else { throw refuse("it would unpack to more than a transfer may hold") }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(min(declared, 1 << 20))  // a ZIP's word alone reserves no more
            do {
                _ = try archive.extract(entry, skipCRC32: false) { chunk in
                    guard bytes.count + chunk.count <= declared else { throw VaultError.transferRefused("size") }
                    bytes.append(contentsOf: chunk)
                }
            } catch {
                bytes.wipe()
                throw refuse("a file does not unpack to its stated size and checksum")
            }
            guard bytes.count == declared else { throw refuse("a file does not unpack to its stated size") }
            total += declared
            files[path] = bytes
        }
        return files
    }
}
