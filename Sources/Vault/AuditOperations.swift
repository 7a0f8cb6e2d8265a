import Foundation
import KeyManagement
import Storage

extension Vault {
    func verifyAudit(publicKey: VaultPublicKey? = nil, externalCheckpoint: Checkpoint? = nil, witness: String? = nil, by caller: Caller) throws -> AuditReport {
        try requireOperator(caller, .verify)
        let verifier = AuditVerifier(vaultID: vaultID, publicKey: publicKey ?? self.publicKey)
        let witnessed = try vaulting { () -> [Checkpoint] in
            guard let path = witness ?? witnessPath else { return [] }
            return try AuditWitness(path: path).all(vaultID: vaultID)
        }
        var report = try vaulting { try verifier.verify(catalog, externalCheckpoint: externalCheckpoint, witness: witnessed) }
        if (witness ?? witnessPath) != nil, witnessed.isEmpty {
            report.add(.truncated, at: nil, "the audit witness holds no checkpoint of this vault")
        }
        return report
    }

    func auditLog(record: String?, by caller: Caller) throws -> [AuditEvent] {
        try requireOperator(caller, .auditRead)
        let actor = caller.actor
        if let record { try vaulting { try RecordID.validate(record) } }
        try audit(AuditEntry(actor: actor, action: .auditRead, outcome: .ok, record: record))
        return try vaulting { try catalog.events(record: record) }
    }

    func checkpoint(by caller: Caller) throws -> Checkpoint {
        try requireOperator(caller, .checkpoint)
        let actor = caller.actor
        _ = try requireKeys("signing a checkpoint")
        try audit(AuditEntry(actor: actor, action: .checkpoint, outcome: .ok))
        guard let checkpoint = try vaulting({ try catalog.latestCheckpoint() }) else {
            throw VaultError.storage(.auditUnavailable("no checkpoint was written"))
        }
        return checkpoint
    }
}
