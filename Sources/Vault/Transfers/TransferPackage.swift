import Foundation
import KeyManagement
import Storage

/// The plaintext of a transfer package: a ZIP, built in memory (never a temp file), that the
/// sender then encrypts to the receiving school in the age format (docs/transfers.md):
///
///     transfer-ID8/README.txt
///     transfer-ID8/manifest.json           + manifest.json.minisig
///     transfer-ID8/audit/checkpoint.json   the sending vault's signed checkpoint
///     transfer-ID8/audit/proofs.json       each record's put event and inclusion proof
///     transfer-ID8/records/NNN-KIND-ID8.EXT the originals, byte for byte
enum TransferPackage {
    /// The package's ZIP, under `transfer-ID8/`.
    static func zip(transferID: String, sentAtMillis: Int64) throws -> MemoryZip {
        try MemoryZip(folder: "transfer-\(transferID.prefix(8))", date: Date(timeIntervalSince1970: Double(sentAtMillis) / 1000),
                      what: "transfer \(transferID)")
    }

    /// The path of a record in the package.
    static func recordPath(position: Int, record: EvidenceRecord) -> String {
        let ext = EvidenceType(mime: record.sniffedType)?.extensions.first ?? "bin"
        return "records/\(String(format: "%03d", position + 1))-\(record.kind)-\(record.id.prefix(8)).\(ext)"
    }

    /// The letter to whoever opens the package without Strongroom.
    static func readme(manifest m: TransferManifest) -> String {
        """
        SAFEGUARDING / CHILD PROTECTION FILE: CONFIDENTIAL
        ==================================================

        From: \(m.from.name) (school \(m.from.school))
        To:   \(m.to.name) (school \(m.to.school))
        Transfer: \(m.transfer), sent \(m.sentAt)
        Drafted by \(m.createdBy.actor); approved and sent by \(m.approvedBy.actor)
        Why: \(m.reason)

        This is a child's safeguarding file, sent by the school the child left to the school the
        child joined, as Keeping Children Safe in Education asks. It holds \(m.records.count) record\(m.records.count == 1 ? "" : "s"),
        each exactly as the sending school stored it. Keep it as securely as your own child
        protection records.

        What is here
        ------------
          records/                the records, byte for byte as stored
          manifest.json           what each record is, when it was recorded, its SHA-256,
                                  holds and shares, and the child's details
          manifest.json.minisig   the sending school's signature over manifest.json
          audit/checkpoint.json   the sending school's signed audit checkpoint
          audit/proofs.json       for each record, the audit event that stored it and a proof
                                  that the event is in the log the checkpoint signs

        With Strongroom
        ---------------
        Import the package you received (not this folder): strongroom transfer import FILE
        checks everything above and stores the records under your school.

        Without Strongroom
        ------------------
        Check the signature with minisign (free, in Debian and most systems):

          minisign -Vm manifest.json -P \(m.from.signingKey)

        It must print "Signature and comment signature verified". Compare that key with the one
        on the sending school's card (fingerprint \(m.from.fingerprint)). Then check each record
        against the SHA-256 in manifest.json, for example: sha256sum records/*

        Please confirm receipt to the sending school's DSL.

        """
    }
}
