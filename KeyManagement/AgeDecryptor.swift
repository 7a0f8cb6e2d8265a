import Foundation

/// Opens age v1 files encrypted to an X25519 `AgeIdentity`, streaming: memory stays at one 64 KiB
/// chunk (and a header of at most 64 KiB). Plaintext reaches `sink` only after its chunk has been
/// authenticated, in order, as the reference implementation releases it; a file that fails later
/// (a bad chunk, bytes after the final chunk, no final chunk) has still released the authentic
/// chunks before the failure. A caller that must have all or nothing writes to a temporary place
/// and keeps it only after `finish` returns.
///
///     let age = AgeDecryptor(identity: identity, maxPlaintext: 50 << 20)
///     try age.write(bytes) { out.write($0) }
///     try age.finish { out.write($0) }     // throws if the file was cut short
///
/// What it refuses, and why (https://age-encryption.org/v1):
/// - anything that is not exactly the header age writes (`AgeHeader`);
/// - a passphrase (scrypt) stanza: a vault holds no passphrase, and age allows it only alone;
/// - an X25519 stanza with other than one argument, a share that is not 32 bytes, a wrapped file
///   key that is not 16 bytes, or a share giving the all-zero shared secret (a low-order point);
/// - a header whose MAC does not match, compared in constant time;
/// - a payload chunk that fails authentication, an empty final chunk after other chunks, a file
///   that ends without its final chunk, and any byte after the final chunk.
public final class AgeDecryptor {
    static let chunkSize = AgeEncryptor.chunkSize
    static let tagBytes = AgeEncryptor.tagBytes
    static let chunkWire = chunkSize + tagBytes
    static let nonceBytes = 16
    /// A hostile file cannot make us buffer more than this before the payload; real headers with a
    /// few recipients are a few hundred bytes.
    static let headerLimit = 64 * 1024

    private enum Phase { case header, nonce, payload, done }

    private let identity: AgeIdentity
    private let maxPlaintext: Int
    private var phase = Phase.header
    private var failed = false
    private var header: [UInt8] = []
    private var scanned = 0
    private var headerLength = 0
    private var fileKey: SecretBytes?
    private var nonce: [UInt8] = []
    private var payloadKey: SecretBytes?
    private var pending: [UInt8] = []
    private var payloadSeen = 0
    private var counter: UInt64 = 0
    private var plaintext: [UInt8]

    public init(identity: AgeIdentity, maxPlaintext: Int) {
        self.identity = identity
        self.maxPlaintext = maxPlaintext
        plaintext = [UInt8](repeating: 0, count: Self.chunkSize)
        pending.reserveCapacity(Self.chunkWire + 1)
    }

    deinit {
        plaintext.wipe()
        fileKey?.zero()
        payloadKey?.zero()
    }

    /// Takes the next `bytes` of the file, handing each authenticated chunk of plaintext to `sink`.
    public func write(_ bytes: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try guarded { try consume(bytes, sink) }
    }

    public func write(_ bytes: [UInt8], _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try bytes.withUnsafeBytes { try write($0, sink) }
    }

    /// Ends the file: opens the final chunk, which must be marked as final, and hands its plaintext
    /// to `sink`. Throws if the file was cut short anywhere.
    public func finish(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try guarded {
            switch phase {
            case .header:
                if header.isEmpty { throw AgeError.notAgeFile }
                throw AgeError.malformedHeader("the file ends inside the header")
            case .nonce:
                throw AgeError.malformedHeader("the file ends before the 16-byte payload nonce")
            case .payload:
                try openFinal(sink)
            case .done:
                throw AgeError.finished
            }
            phase = .done
            payloadKey?.zero()
        }
    }

    /// The whole of `ciphertext`, decrypted.
    public static func decrypt(_ ciphertext: [UInt8], identity: AgeIdentity, maxPlaintext: Int) throws -> [UInt8] {
        let age = AgeDecryptor(identity: identity, maxPlaintext: maxPlaintext)
        var out: [UInt8] = []
        try age.write(ciphertext) { out += $0 }
        try age.finish { out += $0 }
        return out
    }

    /// Runs `body`; after any failure the decryptor refuses further use, as the stream's position is lost.
    private func guarded(_ body: () throws -> Void) throws {
        guard !failed, phase != .done else { throw AgeError.finished }
        do {
            try body()
        } catch {
            failed = true
            fileKey?.zero()
            payloadKey?.zero()
            throw error
        }
    }

    private func consume(_ bytes: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var offset = 0
        while offset < bytes.count {
            switch phase {
            case .header:
                offset = try takeHeader(bytes, from: offset)
            case .nonce:
                let n = min(Self.nonceBytes - nonce.count, bytes.count - offset)
                nonce += UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n])
                offset += n
                if nonce.count == Self.nonceBytes, let fileKey {
                    payloadKey = try AgeEncryptor.hkdf(secret: fileKey, salt: nonce, info: "payload")
                    fileKey.zero()
                    self.fileKey = nil
                    phase = .payload
                }
            case .payload:
                // Hold one byte beyond a full chunk: only then is it known not to be the last.
                let n = min(Self.chunkWire + 1 - pending.count, bytes.count - offset)
                payloadSeen += n
                try refuseIfTooLarge()
                pending += UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n])
                offset += n
                if pending.count > Self.chunkWire { try openFull(sink) }
            case .done:
                throw AgeError.finished
            }
        }
    }

    /// The plaintext is at least the payload so far less one tag per chunk it has begun: refusing
    /// as soon as that passes the limit means a large file is never buffered or released whole.
    private func refuseIfTooLarge() throws {
        let chunks = (payloadSeen + Self.chunkWire - 1) / Self.chunkWire
        if payloadSeen - chunks * Self.tagBytes > maxPlaintext { throw AgeError.tooLarge(limit: maxPlaintext) }
    }

    // MARK: header

    /// Reads header bytes up to the end of the MAC line, then opens the header; returns the offset reached.
    private func takeHeader(_ bytes: UnsafeRawBufferPointer, from start: Int) throws -> Int {
        var offset = start
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            header.append(byte)
            if header.count <= AgeHeader.formatPrefix.count, byte != AgeHeader.formatPrefix[header.count - 1] {
                throw AgeError.notAgeFile
            }
            if byte == 0x0a {
                let line = header[scanned...]
                scanned = header.count
                if line.starts(with: AgeHeader.footerPrefix) {
                    try openHeader()
                    return offset
                }
            }
            if header.count >= Self.headerLimit {
                throw AgeError.malformedHeader("the header is longer than \(Self.headerLimit / 1024) KiB")
            }
        }
        return offset
    }

    private func openHeader() throws {
        let parsed = try AgeHeader.parse(header)
        let key = try unwrapFileKey(parsed.stanzas)
        let macKey = try AgeEncryptor.hkdf(secret: key, salt: [], info: "header")
        defer { macKey.zero() }
        var mac = [UInt8](repeating: 0, count: 32)
        macKey.withUnsafeBytes { k in
            header.withUnsafeBytes { Sodium.hmacSHA256(key: k, message: UnsafeRawBufferPointer(rebasing: $0[0..<parsed.macCoverage]), into: &mac) }
        }
        guard Sodium.constantTimeEqual(mac, parsed.mac, count: 32) else {
            key.zero()
            throw AgeError.headerMACMismatch
        }
        fileKey = key
        headerLength = header.count
        header = []
        phase = .nonce
    }

    private func unwrapFileKey(_ stanzas: [AgeHeader.Stanza]) throws -> SecretBytes {
        if stanzas.contains(where: { $0.type == "scrypt" }) {
            guard stanzas.count == 1 else { throw AgeError.malformedHeader("a passphrase stanza must be the only stanza") }
            throw AgeError.passphraseEncrypted
        }
        for stanza in stanzas where stanza.type == "X25519" {
            if let key = try unwrapX25519(stanza) { return key }
        }
        throw AgeError.noMatchingRecipient
    }

    /// The file key if this stanza is for our identity, nil if it is for someone else.
    private func unwrapX25519(_ stanza: AgeHeader.Stanza) throws -> SecretBytes? {
        guard stanza.arguments.count == 1 else { throw AgeError.malformedHeader("an X25519 stanza has exactly one argument, the share") }
        guard let share = AgeHeader.decodeCanonicalBase64(Array(stanza.arguments[0].utf8)[...]), share.count == 32 else {
            throw AgeError.malformedHeader("an X25519 share is the canonical base64 of 32 bytes")
        }
        guard stanza.body.count == 16 + Self.tagBytes else { throw AgeError.malformedHeader("an X25519 stanza must wrap a 16-byte file key") }
        let shared = try SecretBytes(count: 32)
        defer { shared.zero() }
        do {
            try Sodium.x25519(identity.secretKey.typedPointer, share, into: shared.typedPointer)
        } catch {
            // An all-zero shared secret would let anyone who knows the share open the file.
            throw AgeError.malformedHeader("an X25519 share is a low-order point")
        }
        let wrapKey = try AgeEncryptor.hkdf(secret: shared, salt: share + identity.publicKey, info: "age-encryption.org/v1/X25519")
        defer { wrapKey.zero() }
        let key = try SecretBytes(count: 16)
        let opened = stanza.body.withUnsafeBufferPointer {
            Sodium.chachaDecrypt(output: key.typedPointer, ciphertext: $0.baseAddress!, count: $0.count, nonce: [UInt8](repeating: 0, count: 12), key: wrapKey.typedPointer)
        }
        return opened ? key : nil
    }

    // MARK: payload

    /// Opens the full chunk at the front of `pending`, which more bytes follow.
    private func openFull(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let start = chunkOffset
        if try open(count: Self.chunkWire, last: false) {
            try release(Self.chunkSize, sink)
            pending.removeFirst(Self.chunkWire)
            return
        }
        if try open(count: Self.chunkWire, last: true) {
            // Authentic, so released as age releases it; the bytes after it make the file damaged.
            try release(Self.chunkSize, sink)
            throw AgeError.damaged("there are bytes after the final chunk, at byte ~\(start + Self.chunkWire)")
        }
        throw AgeError.damaged("a chunk fails authentication at byte ~\(start)")
    }

    /// Opens what is left as the final chunk.
    private func openFinal(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let start = chunkOffset
        guard pending.count >= Self.tagBytes else {
            throw AgeError.damaged(counter == 0 && pending.isEmpty ? "the payload is missing" : "the file is cut short at byte ~\(start + pending.count)")
        }
        // Only an empty file is encrypted to a single empty chunk; otherwise the final chunk has data.
        guard pending.count > Self.tagBytes || counter == 0 else {
            throw AgeError.damaged("an empty final chunk follows other chunks, at byte ~\(start)")
        }
        if try open(count: pending.count, last: true) {
            try release(pending.count - Self.tagBytes, sink)
            pending.removeAll()
            return
        }
        if pending.count == Self.chunkWire, try open(count: Self.chunkWire, last: false) {
            try release(Self.chunkSize, sink)
            throw AgeError.damaged("the file is cut short after byte ~\(start + Self.chunkWire) (the final chunk is missing)")
        }
        throw AgeError.damaged("a chunk fails authentication at byte ~\(start)")
    }

    private var chunkOffset: Int { headerLength + Self.nonceBytes + Int(counter) * Self.chunkWire }

    /// Opens the first `count` bytes of `pending` into `plaintext` as chunk `counter`.
    private func open(count: Int, last: Bool) throws -> Bool {
        guard let payloadKey else { throw AgeError.finished }
        let streamNonce = AgeEncryptor.streamNonce(counter, last: last)
        return pending.withUnsafeBufferPointer { input in
            plaintext.withUnsafeMutableBufferPointer { output in
                Sodium.chachaDecrypt(output: output.baseAddress!, ciphertext: input.baseAddress!, count: count, nonce: streamNonce, key: payloadKey.typedPointer)
            }
        }
    }

    private func release(_ count: Int, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        counter += 1
        defer { plaintext.wipe() }
        try plaintext.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }
}
