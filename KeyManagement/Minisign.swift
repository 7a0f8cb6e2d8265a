import Foundation

/// minisign's detached signature format (https://jedisct1.github.io/minisign/), so that a file
/// Strongroom signs verifies with stock `minisign -Vm FILE -P KEY`:
///
///     untrusted comment: <text>
///     base64("ED" || key id (8) || Ed25519(BLAKE2b-512(file)))
///     trusted comment: <text>
///     base64(Ed25519(signature || trusted comment))
///
/// The key id is `VaultPublicKey.keyID`, as in the public key's minisign form.
public enum Minisign {
    static let prehashed = Array("ED".utf8)

    /// The signature file's text for `message`.
    public static func sign(_ message: [UInt8], with signer: AuditSigner, trustedComment: String, untrustedComment: String) throws -> String {
        precondition(!trustedComment.contains("\n") && !untrustedComment.contains("\n"), "a minisign comment is one line")
        let signature = try signer.sign(Blake2b.hash512(message))
        let global = try signer.sign(signature + Array(trustedComment.utf8))
        return "untrusted comment: \(untrustedComment)\n"
            + Data(prehashed + signer.publicKey.keyID + signature).base64EncodedString() + "\n"
            + "trusted comment: \(trustedComment)\n"
            + Data(global).base64EncodedString() + "\n"
    }

    /// Checks a signature file's text against `message` and `publicKey`; returns the trusted
    /// comment, or nil when anything (format, key id, either signature) does not hold.
    public static func verify(_ message: [UInt8], signature text: String, publicKey: VaultPublicKey) -> String? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 4, lines[0].hasPrefix("untrusted comment: "), lines[2].hasPrefix("trusted comment: "),
              lines.dropFirst(4).allSatisfy(\.isEmpty),
              let raw = Data(base64Encoded: lines[1]).map(Array.init), raw.count == 74,
              Array(raw[0..<2]) == prehashed, Array(raw[2..<10]) == publicKey.keyID,
              let global = Data(base64Encoded: lines[3]).map(Array.init), global.count == 64 else { return nil }
        let signature = Array(raw[10...])
        let trusted = String(lines[2].dropFirst("trusted comment: ".count))
        guard publicKey.verify(signature: signature, message: Blake2b.hash512(message)),
              publicKey.verify(signature: global, message: signature + Array(trusted.utf8)) else { return nil }
        return trusted
    }
}
