import Foundation

/// Encryption in the age v1 format (https://age-encryption.org/v1), so that a recipient opens a
/// file with the stock `age -d`: to an X25519 recipient (`age1…`, `age -d -i key.txt`) or to a
/// passphrase (scrypt, `age -d` and the passphrase). libsodium does X25519,
/// ChaCha20-Poly1305, HMAC-SHA-256 and scrypt; HKDF-SHA-256 is built here from HMAC.
///
///     age-encryption.org/v1
///     -> X25519 <ephemeral share, base64>        or  -> scrypt <salt, base64> <log2 N>
///     <file key wrapped with ChaCha20-Poly1305, base64>
///     --- <HMAC-SHA-256 of the header, base64>
///     <16-byte nonce><payload: 64 KiB chunks, ChaCha20-Poly1305, STREAM nonces>
///
/// Encryption is here; `AgeDecryptor` opens files encrypted to an `AgeIdentity` the vault holds.
public enum AgeRecipient: Sendable {
    case x25519(publicKey: [UInt8])
    /// A passphrase given out of band; `workFactor` is log2 of scrypt's N (age's default is 18).
    case scrypt(passphrase: SecretBytes, workFactor: Int)

    /// Parses an `age1…` recipient. Throws `AgeError.badRecipient` naming what is wrong.
    public static func parse(_ text: String) throws -> AgeRecipient {
        guard text.hasPrefix("age1"), text.lowercased() == text else { throw AgeError.badRecipient("an age recipient starts with age1 and is lower case") }
        guard let (hrp, data) = Bech32.decode(text), hrp == "age" else { throw AgeError.badRecipient("not valid Bech32 (a typing error?)") }
        guard data.count == 32 else { throw AgeError.badRecipient("the key is \(data.count) bytes, not 32") }
        return .x25519(publicKey: data)
    }

    /// The `age1…` text of an X25519 recipient.
    public static func text(publicKey: [UInt8]) -> String { Bech32.encode(hrp: "age", data: publicKey) }
}

public enum AgeError: Error, Equatable, Sendable, CustomStringConvertible {
    case badRecipient(String)
    case badRecipientSet(String)
    case finished
    /// An identity that cannot be used (its text or length is wrong).
    case badIdentity(String)
    /// The bytes do not begin with the age v1 header line.
    case notAgeFile
    /// The header breaks the age v1 format; says which rule.
    case malformedHeader(String)
    /// No recipient stanza opens with the identity: the file was encrypted to someone else.
    case noMatchingRecipient
    /// The file was encrypted to a passphrase, which a vault never holds.
    case passphraseEncrypted
    /// The header's MAC does not match: the header was changed after it was written.
    case headerMACMismatch
    /// The payload fails authentication, is cut short or has bytes after its end; says where.
    case damaged(String)
    /// The plaintext would be larger than the limit (in bytes) the caller set.
    case tooLarge(limit: Int)

    public var description: String {
        switch self {
        case .badRecipient(let why): return "age recipient: \(why)"
        case .badRecipientSet(let why): return "age recipients: \(why)"
        case .finished: return "the age stream was already finished"
        case .badIdentity(let why): return "age identity: \(why)"
        case .notAgeFile: return "not an age file (it does not start with the age-encryption.org/v1 header)"
        case .malformedHeader(let why): return "the age header is malformed: \(why)"
        case .noMatchingRecipient: return "the file is not encrypted to this vault's key"
        case .passphraseEncrypted: return "the file is protected by a passphrase, not encrypted to this vault's key"
        case .headerMACMismatch: return "the age header was changed after it was written (its MAC does not match)"
        case .damaged(let why): return "the file is damaged or was changed: \(why)"
        case .tooLarge(let limit): return "the decrypted file would be larger than the limit of \(limit) bytes"
        }
    }
}

/// Streams plaintext in and age-encrypted bytes out; memory stays at one 64 KiB chunk.
///
///     let age = try AgeEncryptor(recipients: [try .parse("age1…")])
///     try age.write(bytes) { out.append(contentsOf: $0) }
///     try age.finish { out.append(contentsOf: $0) }
public final class AgeEncryptor {
    public static let chunkSize = 64 * 1024
    static let tagBytes = 16

    private let payloadKey: SecretBytes
    private var pending: [UInt8]
    private var counter: UInt64 = 0
    private var headerToSend: [UInt8]?
    private var done = false

    public init(recipients: [AgeRecipient]) throws {
        guard !recipients.isEmpty else { throw AgeError.badRecipientSet("no recipient") }
        if recipients.contains(where: { if case .scrypt = $0 { true } else { false } }), recipients.count > 1 {
            throw AgeError.badRecipientSet("a passphrase must be the only recipient (the age specification requires it)")
        }
        let fileKey = try SecretBytes.random(count: 16)
        var header = Array("age-encryption.org/v1\n".utf8)
        for recipient in recipients { header += try Self.stanza(for: recipient, fileKey: fileKey) }
        header += Array("---".utf8)
        let macKey = try Self.hkdf(secret: fileKey, salt: [], info: "header")
        let mac = try SecretBytes(count: 32)
        macKey.withUnsafeBytes { key in header.withUnsafeBytes { Sodium.hmacSHA256(key: key, message: $0, into: mac.typedPointer) } }
        header += Array(" ".utf8) + Array(mac.withUnsafeBytes { Self.base64(Array($0)) }.utf8) + [0x0a]
        let nonce = randomPublicBytes(16)
        payloadKey = try Self.hkdf(secret: fileKey, salt: nonce, info: "payload")
        headerToSend = header + nonce
        pending = []
        pending.reserveCapacity(Self.chunkSize)
    }

    /// Encrypts `bytes`, handing complete output to `sink` (the header first).
    public func write(_ bytes: UnsafeRawBufferPointer, _ sink: ([UInt8]) throws -> Void) throws {
        guard !done else { throw AgeError.finished }
        if let header = headerToSend {
            headerToSend = nil
            try sink(header)
        }
        var offset = 0
        while offset < bytes.count {
            // A full chunk is sealed only once more plaintext follows it: the last chunk is
            // marked as last, so it is held back until `finish`.
            if pending.count == Self.chunkSize {
                try sink(try seal(last: false))
            }
            let n = min(Self.chunkSize - pending.count, bytes.count - offset)
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n]))
            offset += n
        }
    }

    public func write(_ bytes: [UInt8], _ sink: ([UInt8]) throws -> Void) throws {
        try bytes.withUnsafeBytes { try write($0, sink) }
    }

    /// Seals the last chunk (empty only when the whole plaintext was empty).
    public func finish(_ sink: ([UInt8]) throws -> Void) throws {
        guard !done else { throw AgeError.finished }
        if let header = headerToSend {
            headerToSend = nil
            try sink(header)
        }
        try sink(try seal(last: true))
        done = true
        payloadKey.zero()
    }

    /// The whole of `plaintext`, encrypted.
    public static func encrypt(_ plaintext: [UInt8], to recipients: [AgeRecipient]) throws -> [UInt8] {
        let age = try AgeEncryptor(recipients: recipients)
        var out: [UInt8] = []
        try age.write(plaintext) { out += $0 }
        try age.finish { out += $0 }
        return out
    }

    private func seal(last: Bool) throws -> [UInt8] {
        let nonce = Self.streamNonce(counter, last: last)
        counter += 1
        var out = [UInt8](repeating: 0, count: pending.count + Self.tagBytes)
        let plaintext = pending.isEmpty ? [0] : pending  // an empty last chunk still needs a pointer
        try plaintext.withUnsafeBufferPointer { p in
            try Sodium.chachaEncrypt(output: &out, plaintext: p.baseAddress!, count: pending.count, nonce: nonce, key: payloadKey.typedPointer)
        }
        pending.withUnsafeMutableBytes { Sodium.zero($0.baseAddress!, count: $0.count) }
        pending.removeAll(keepingCapacity: true)
        return out
    }

    /// STREAM nonce: an 11-byte big-endian counter, then 1 for the last chunk, else 0.
    static func streamNonce(_ counter: UInt64, last: Bool) -> [UInt8] {
        var nonce = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { nonce[3 + i] = UInt8(truncatingIfNeeded: counter >> UInt64(8 * (7 - i))) }
        nonce[11] = last ? 1 : 0
        return nonce
    }

    // MARK: header

    private static func stanza(for recipient: AgeRecipient, fileKey: SecretBytes) throws -> [UInt8] {
        switch recipient {
        case .x25519(let publicKey):
            let ephemeral = try SecretBytes.random(count: 32)
            let share = try Sodium.x25519Base(ephemeral.typedPointer)
            let shared = try SecretBytes(count: 32)
            try Sodium.x25519(ephemeral.typedPointer, publicKey, into: shared.typedPointer)
            let key = try hkdf(secret: shared, salt: share + publicKey, info: "age-encryption.org/v1/X25519")
            return Array("-> X25519 \(base64(share))\n".utf8) + Array(wrapped(try wrap(fileKey, under: key)).utf8)
        case .scrypt(let passphrase, let workFactor):
            guard (1...30).contains(workFactor) else { throw AgeError.badRecipient("scrypt work factor \(workFactor) is outside 1-30") }
            let salt = randomPublicBytes(16)
            let key = try SecretBytes(count: 32)
            try passphrase.withUnsafeBytes {
                try Sodium.scrypt(passphrase: $0, salt: Array("age-encryption.org/v1/scrypt".utf8) + salt, logN: workFactor, r: 8, p: 1,
                                  output: key.typedPointer, outputBytes: 32)
            }
            return Array("-> scrypt \(base64(salt)) \(workFactor)\n".utf8) + Array(wrapped(try wrap(fileKey, under: key)).utf8)
        }
    }

    /// ChaCha20-Poly1305 of the file key under `key` with a zero nonce (each key is used once).
    private static func wrap(_ fileKey: SecretBytes, under key: SecretBytes) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: fileKey.count + tagBytes)
        try Sodium.chachaEncrypt(output: &out, plaintext: fileKey.typedPointer, count: fileKey.count, nonce: [UInt8](repeating: 0, count: 12), key: key.typedPointer)
        return out
    }

    /// A stanza body: base64 in lines of 64 characters, the last one shorter (possibly empty).
    private static func wrapped(_ body: [UInt8]) -> String {
        let text = Array(base64(body).utf8)
        var out = ""
        var i = 0
        while i + 64 <= text.count {
            out += String(decoding: text[i..<i + 64], as: UTF8.self) + "\n"
            i += 64
        }
        return out + String(decoding: text[i...], as: UTF8.self) + "\n"
    }

    /// Standard base64 without padding, as age writes it.
    static func base64(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    /// HKDF-SHA-256 (RFC 5869) with a 32-byte output: one HMAC to extract, one to expand.
    static func hkdf(secret: SecretBytes, salt: [UInt8], info: String) throws -> SecretBytes {
        let prk = try SecretBytes(count: 32)
        salt.withUnsafeBytes { s in secret.withUnsafeBytes { Sodium.hmacSHA256(key: s, message: $0, into: prk.typedPointer) } }
        let okm = try SecretBytes(count: 32)
        let block = Array(info.utf8) + [1]
        prk.withUnsafeBytes { k in block.withUnsafeBytes { Sodium.hmacSHA256(key: k, message: $0, into: okm.typedPointer) } }
        return okm
    }
}
