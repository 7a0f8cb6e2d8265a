import Foundation
import KeyManagement
import Storage

/// One item as delivered in a bundle.
struct BuiltItem {
    var record: EvidenceRecord
    var mode: BundleItemMode
    var path: String
    var bytes: [UInt8]
    var mimeType: String
    var originalSHA256: String
    var processing: String?
    /// The redacted PDF shared in place of an office document.
    var redactedCopy: String?
}

/// The bundle's `manifest.json` (format in docs/bundles.md). Signed, as its exact bytes, in
/// `manifest.json.minisig` by the vault's Ed25519 key.
struct BundleManifest: Codable {
    struct Person: Codable { var actor: String; var at: String }
    struct RecipientInfo: Codable { var name: String; var contact: String; var encryption: String }
    struct Item: Codable {
        var path: String
        var record: String
        var child: String
        var concern: String
        var kind: String
        var recordedAt: String
        var recordedBy: String
        /// The stored filename; left out of redacted items (a name may be what was redacted).
        var filename: String?
        var mode: String
        var type: String
        var originalSHA256: String
        var originalSize: Int64
        var deliveredSHA256: String
        var deliveredSize: Int
        var processing: String?
        /// The record id of the redacted PDF copy shared in place of the original.
        var redactedCopy: String?
    }
    var format = "strongroom-bundle/1"
    var bundle: String
    var vault: String
    var vaultPublicKey: String
    var school: String
    var recipient: RecipientInfo
    var reason: String
    var createdBy: Person
    var approvedBy: Person
    var readmeSHA256: String
    var items: [Item]
}

/// Writes a bundle's ZIP in memory (never a temp file): each item as soon as it is made, its
/// bytes wiped once in the archive; then README.txt, manifest.json and its signature. Text is
/// deflated; formats that are compressed already (images, PDFs, audio, office) are stored.
final class BundleArchive {
    private let zip: MemoryZip
    /// The items added, with their bytes wiped, and the SHA-256 and size of what was added.
    private var added: [(item: BuiltItem, sha256: String, size: Int)] = []

    init(bundleID: String, releasedAtMillis: Int64) throws {
        zip = try MemoryZip(folder: "bundle-\(bundleID.prefix(8))", date: Date(timeIntervalSince1970: Double(releasedAtMillis) / 1000),
                            what: "bundle \(bundleID)")
    }

    func add(_ item: inout BuiltItem) throws {
        let sha256 = Hex.encode(SHA256Hasher.hash(item.bytes))
        let size = item.bytes.count
        try zip.add(item.path, item.bytes, deflate: Self.deflates(item.mimeType))
        item.bytes.wipe()
        item.bytes = []
        added.append((item, sha256, size))
    }

    /// Adds the README, the manifest and its signature; returns the ZIP (the caller wipes it).
    func finish(
        bundle: BundleRow, approvedBy: String, releasedAtMillis: Int64, recipient: Recipient, vaultID: String, signer: AuditSigner,
        receiptPath: String, expiresAtMillis: Int64
    ) throws -> Data {
        let items = added.map(\.item)
        let readme = Array(Self.readmeText(bundle: bundle, approvedBy: approvedBy, recipient: recipient, items: items,
                                           vaultKey: signer.publicKey, receiptPath: receiptPath, expiresAtMillis: expiresAtMillis).utf8)
        let iso = Self.iso
        let manifest = BundleManifest(
            bundle: bundle.id, vault: vaultID, vaultPublicKey: signer.publicKey.minisignBase64, school: bundle.school,
            recipient: .init(name: recipient.name, contact: recipient.contact, encryption: recipient.usesPassphrase ? "age scrypt (passphrase)" : "age X25519"),
            reason: bundle.reason,
            createdBy: .init(actor: bundle.createdBy, at: iso(bundle.createdAtMillis)),
            approvedBy: .init(actor: approvedBy, at: iso(releasedAtMillis)),
            readmeSHA256: Hex.encode(SHA256Hasher.hash(readme)),
            items: added.map { entry in
                let item = entry.item
                return BundleManifest.Item(
                    path: item.path, record: item.record.id, child: item.record.child, concern: item.record.concern,
                    kind: item.record.kind, recordedAt: iso(item.record.createdAtMillis), recordedBy: item.record.createdBy,
                    filename: item.mode == .redacted ? nil : item.record.servedFilename, mode: item.mode.rawValue, type: item.mimeType,
                    originalSHA256: item.originalSHA256, originalSize: item.record.size,
                    deliveredSHA256: entry.sha256, deliveredSize: entry.size, processing: item.processing,
                    redactedCopy: item.redactedCopy)
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let manifestBytes = Array(try encoder.encode(manifest)) + [0x0a]
        let signature = try vaulting {
            try Minisign.sign(manifestBytes, with: signer,
                              trustedComment: "strongroom bundle \(bundle.id) vault \(vaultID) released \(iso(releasedAtMillis))",
                              untrustedComment: "signature from the Strongroom vault key \(Hex.encode(signer.publicKey.keyID))")
        }
        try zip.add("README.txt", readme, deflate: true)
        try zip.add("manifest.json", manifestBytes, deflate: true)
        try zip.add("manifest.json.minisig", Array(signature.utf8), deflate: true)
        return try zip.finish()
    }

    /// Text compresses; JPEG, PNG, WebP, PDF, audio and office files (ZIPs themselves) do not.
    static func deflates(_ mime: String) -> Bool {
        mime.hasPrefix("text/") || mime == "message/rfc822" || mime == "application/rtf"
    }

    static func iso(_ millis: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    /// The plain-language letter to the recipient.
    static func readmeText(
        bundle: BundleRow, approvedBy: String, recipient: Recipient, items: [BuiltItem], vaultKey: VaultPublicKey, receiptPath: String,
        expiresAtMillis: Int64
    ) -> String {
        let redacted = items.filter { $0.mode == .redacted }.count
        let list = items.map { "  \($0.path)  (\($0.record.kind), \($0.mode.rawValue)\($0.mode == .redacted ? ": redacted" : ""))" }.joined(separator: "\n")
        return """
            SAFEGUARDING EVIDENCE: CONFIDENTIAL
            ===================================

            For: \(recipient.name)
            From: school \(bundle.school), by \(bundle.createdBy), released by \(approvedBy)
            Bundle: \(bundle.id)
            Why it is shared: \(bundle.reason)

            This folder holds \(items.count) item\(items.count == 1 ? "" : "s") of safeguarding evidence about a child,
            shared with you for the reason above. Please keep it as securely as your own case records,
            share it only as the law and your own procedures allow, and delete it when you no longer need it.

            What is here
            ------------
            \(list)
              manifest.json         what each item is, when it was recorded, and its SHA-256
              manifest.json.minisig the school's signature over manifest.json

            \(redacted) item\(redacted == 1 ? " was" : "s were") redacted. Redaction is real: images and PDF pages were redrawn
            from their pixels with the redacted areas filled, and text had names replaced with
            [REDACTED]. Nothing under a redaction can be recovered from these files.
            Images shared as-is had their hidden metadata (location, camera, thumbnails) removed.

            Check that nothing was changed
            ------------------------------
            With minisign (free, in Debian and most systems):

              minisign -Vm manifest.json -P \(vaultKey.minisignBase64)

            It must print "Signature and comment signature verified". Then check each item against
            the SHA-256 in manifest.json, for example: sha256sum items/*

            Confirm you received it
            -----------------------
            Please confirm receipt so the school's record shows it arrived: send a POST request to
            the receipt address on the school's Strongroom server, for example

              curl -X POST https://SERVER\(receiptPath)

            (the same address as the download link, followed by /receipt). The download link stops
            working on \(iso(expiresAtMillis)) or when the school revokes it.

            """
    }
}
