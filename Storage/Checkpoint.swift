import Foundation
import KeyManagement

/// A signed statement of the audit tree's size and root at a time (docs/audit.md). Someone
/// who keeps a checkpoint can later prove that the log only grew since, and that the vault
/// signed it, with the vault's public key alone.
public struct Checkpoint: Sendable, Equatable, Codable {
    public static let formatName = "strongroom-audit-checkpoint"
    public var format: String = Checkpoint.formatName
    public var version: Int = 1
    public var vaultID: String
    public var treeSize: Int
    public var rootHash: String
    public var timeMillis: Int64
    public var keyID: String
    public var signature: String

    public static let label = "strongroom/v1/audit-checkpoint"

    public static func message(vaultID: String, treeSize: Int, root: [UInt8], timeMillis: Int64) -> [UInt8] {
        var b = Binding(label: label)
        b.append(vaultID)
        b.append(UInt64(treeSize))
        b.append(root)
        b.append(UInt64(bitPattern: timeMillis))
        return b.bytes
    }

    public static func sign(vaultID: String, treeSize: Int, root: [UInt8], timeMillis: Int64, signer: AuditSigner) throws -> Checkpoint {
        let sig = try signer.sign(message(vaultID: vaultID, treeSize: treeSize, root: root, timeMillis: timeMillis))
        return Checkpoint(
            vaultID: vaultID, treeSize: treeSize, rootHash: Hex.encode(root), timeMillis: timeMillis,
            keyID: Hex.encode(signer.publicKey.keyID), signature: Data(sig).base64EncodedString())
    }

    public var root: [UInt8]? { Hex.decode(rootHash) }

    public func verifySignature(publicKey: VaultPublicKey) -> Bool {
        guard format == Self.formatName, version == 1, let root, root.count == 32,
              let sig = Data(base64Encoded: signature) else { return false }
        return publicKey.verify(
            signature: Array(sig), message: Self.message(vaultID: vaultID, treeSize: treeSize, root: root, timeMillis: timeMillis))
    }

    public func fileBytes() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(self)) + [0x0a]
    }

    public static func parse(_ bytes: [UInt8]) -> Checkpoint? {
        // A negative size or time never comes from a vault; refused here, before any arithmetic.
        guard let c = try? JSONDecoder().decode(Checkpoint.self, from: Data(bytes)), c.format == formatName, c.treeSize >= 0, c.timeMillis >= 0 else {
            return nil
        }
        return c
    }
}
