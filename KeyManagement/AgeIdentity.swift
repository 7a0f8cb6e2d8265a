import Foundation

/// An age X25519 identity: the secret half of an `age1…` recipient, which opens files encrypted
/// to it (`AgeDecryptor`). The secret key lives in guarded memory; wrap it under the master key to
/// keep it.
///
///     let identity = try AgeIdentity.generate()
///     identity.recipient            // "age1…", to give to senders
///     let kept = identity.secretKey // to wrap under the master key
public struct AgeIdentity: Sendable {
    static let secretKeyPrefix = "AGE-SECRET-KEY-"

    public let secretKey: SecretBytes
    public let publicKey: [UInt8]

    /// A fresh identity from the OS CSPRNG.
    public static func generate() throws -> AgeIdentity {
        try AgeIdentity(owning: try SecretBytes.random(count: 32))
    }

    /// An identity from its 32-byte X25519 secret key (copied, so the caller may zero theirs).
    public init(secretKey: SecretBytes) throws {
        guard secretKey.count == 32 else { throw AgeError.badIdentity("an X25519 secret key is 32 bytes, not \(secretKey.count)") }
        try self.init(owning: try secretKey.slice(offset: 0, count: 32))
    }

    private init(owning secret: SecretBytes) throws {
        secretKey = secret
        publicKey = try Sodium.x25519Base(secret.typedPointer)
    }

    /// The `age1…` recipient that encrypts to this identity.
    public var recipient: String { AgeRecipient.text(publicKey: publicKey) }

    /// Parses an `AGE-SECRET-KEY-1…` identity (Bech32, upper case), alone or as the key line of an
    /// age-keygen file (whose `#` comment lines are skipped). Errors never repeat the key text.
    public static func parse(_ text: String) throws -> AgeIdentity {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        let keys = lines.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard keys.count == 1, let line = keys.first else {
            throw AgeError.badIdentity("expected exactly one AGE-SECRET-KEY-1 line, found \(keys.count)")
        }
        guard line.hasPrefix(secretKeyPrefix + "1"), line.uppercased() == line else {
            throw AgeError.badIdentity("an age identity starts with AGE-SECRET-KEY-1 and is upper case")
        }
        guard case (let hrp, var data)? = Bech32.decode(line) else { throw AgeError.badIdentity("not valid Bech32 (a typing error?)") }
        defer { data.wipe() }
        guard hrp == secretKeyPrefix.lowercased() else { throw AgeError.badIdentity("not an age secret key") }
        guard data.count == 32 else { throw AgeError.badIdentity("the key is \(data.count) bytes, not 32") }
        let secret = try SecretBytes(count: 32)
        secret.withUnsafeMutableBytes { $0.copyBytes(from: data) }
        return try AgeIdentity(owning: secret)
    }

    /// The identity as an age-keygen file, which the stock `age -d -i FILE` reads. It puts the
    /// secret key into an ordinary string: for interoperability tests only, never for storage.
    public func keygenFileTextForInterop() -> String {
        var key = secretKey.withUnsafeBytes { Array($0) }
        defer { key.wipe() }
        let line = Bech32.encode(hrp: Self.secretKeyPrefix.lowercased(), data: key).uppercased()
        return "# public key: \(recipient)\n\(line)\n"
    }
}
