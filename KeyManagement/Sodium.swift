// The one file that imports libsodium. Every call is thin, checks its return code and
// turns failure into a KeyManagementError; nothing else in the project sees CSodium.
import CSodium
import Foundation

enum Sodium {
    /// sodium_init is idempotent and thread-safe; call it before any other function here.
    static let initialised: Bool = sodium_init() >= 0

    static func ensureInitialised() throws {
        guard initialised else { throw KeyManagementError.cryptoUnavailable("sodium_init failed") }
    }

    // MARK: guarded memory

    static func allocate(_ count: Int) throws -> UnsafeMutableRawPointer {
        try ensureInitialised()
        guard let pointer = sodium_malloc(max(count, 1)) else {
            throw KeyManagementError.secureMemoryUnavailable("sodium_malloc(\(count)) failed")
        }
        // sodium_malloc tries mlock itself but ignores failure; we lock again and check,
        // because a key that can be swapped out can end up on disk.
        if sodium_mlock(pointer, max(count, 1)) != 0 {
            let code = errno
            sodium_free(pointer)
            throw KeyManagementError.secureMemoryUnavailable(
                "mlock failed (errno \(code)); raise the locked-memory limit (ulimit -l) or run with CAP_IPC_LOCK")
        }
        sodium_memzero(pointer, max(count, 1))
        return pointer
    }

    /// Zeroes and releases guarded memory (sodium_free zeroes before unmapping).
    static func release(_ pointer: UnsafeMutableRawPointer, count: Int) {
        _ = sodium_munlock(pointer, max(count, 1))
        sodium_free(pointer)
    }

    static func zero(_ pointer: UnsafeMutableRawPointer, count: Int) {
        sodium_memzero(pointer, count)
    }

    static func constantTimeEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
        sodium_memcmp(a, b, count) == 0
    }

    static func randomBytes(into pointer: UnsafeMutableRawPointer, count: Int) {
        _ = initialised
        randombytes_buf(pointer, count)
    }

    // MARK: XChaCha20-Poly1305 (IETF) AEAD, used for key wrapping

    static let aeadKeyBytes = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    static let aeadNonceBytes = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    static let aeadTagBytes = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)

    /// Encrypts `plaintext` into `output` (plaintext count + tag bytes).
    static func aeadEncrypt(
        output: UnsafeMutablePointer<UInt8>, plaintext: UnsafePointer<UInt8>, count: Int,
        ad: [UInt8], nonce: [UInt8], key: UnsafePointer<UInt8>
    ) throws {
        var written: UInt64 = 0
        let rc = ad.withUnsafeBufferPointer { adp in
            nonce.withUnsafeBufferPointer { np in
                crypto_aead_xchacha20poly1305_ietf_encrypt(
                    output, &written, plaintext, UInt64(count), adp.baseAddress, UInt64(adp.count), nil,
                    np.baseAddress!, key)
            }
        }
        guard rc == 0 else { throw KeyManagementError.cryptoUnavailable("AEAD encryption failed") }
    }

    /// Decrypts into `output` (ciphertext count − tag bytes); false when authentication fails.
    static func aeadDecrypt(
        output: UnsafeMutablePointer<UInt8>, ciphertext: UnsafePointer<UInt8>, count: Int,
        ad: [UInt8], nonce: UnsafePointer<UInt8>, key: UnsafePointer<UInt8>
    ) -> Bool {
        var written: UInt64 = 0
        let rc = ad.withUnsafeBufferPointer { adp in
            crypto_aead_xchacha20poly1305_ietf_decrypt(
                output, &written, nil, ciphertext, UInt64(count), adp.baseAddress, UInt64(adp.count),
                nonce, key)
        }
        return rc == 0
    }

    // MARK: secretstream XChaCha20-Poly1305, used for blobs

    static let streamKeyBytes = Int(crypto_secretstream_xchacha20poly1305_KEYBYTES)
    static let streamHeaderBytes = Int(crypto_secretstream_xchacha20poly1305_HEADERBYTES)
    static let streamOverheadBytes = Int(crypto_secretstream_xchacha20poly1305_ABYTES)
    static let streamStateBytes = Int(crypto_secretstream_xchacha20poly1305_statebytes())
    static let tagMessage = UInt8(crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
    static let tagFinal = UInt8(crypto_secretstream_xchacha20poly1305_TAG_FINAL)

    static func streamInitPush(state: UnsafeMutableRawPointer, header: UnsafeMutablePointer<UInt8>, key: UnsafePointer<UInt8>) throws {
        let rc = crypto_secretstream_xchacha20poly1305_init_push(
            state.assumingMemoryBound(to: crypto_secretstream_xchacha20poly1305_state.self), header, key)
        guard rc == 0 else { throw KeyManagementError.cryptoUnavailable("secretstream init_push failed") }
    }

    static func streamInitPull(state: UnsafeMutableRawPointer, header: UnsafePointer<UInt8>, key: UnsafePointer<UInt8>) -> Bool {
        crypto_secretstream_xchacha20poly1305_init_pull(
            state.assumingMemoryBound(to: crypto_secretstream_xchacha20poly1305_state.self), header, key) == 0
    }

    static func streamPush(
        state: UnsafeMutableRawPointer, output: UnsafeMutablePointer<UInt8>, input: UnsafePointer<UInt8>?, count: Int,
        ad: UnsafeBufferPointer<UInt8>, tag: UInt8
    ) throws {
        let rc = crypto_secretstream_xchacha20poly1305_push(
            state.assumingMemoryBound(to: crypto_secretstream_xchacha20poly1305_state.self),
            output, nil, input, UInt64(count), ad.baseAddress, UInt64(ad.count), tag)
        guard rc == 0 else { throw KeyManagementError.cryptoUnavailable("secretstream push failed") }
    }

    /// Returns the chunk's tag, or nil when the chunk fails authentication.
    static func streamPull(
        state: UnsafeMutableRawPointer, output: UnsafeMutablePointer<UInt8>, input: UnsafePointer<UInt8>, count: Int,
        ad: UnsafeBufferPointer<UInt8>
    ) -> UInt8? {
        var tag: UInt8 = 0
        let rc = crypto_secretstream_xchacha20poly1305_pull(
            state.assumingMemoryBound(to: crypto_secretstream_xchacha20poly1305_state.self),
            output, nil, &tag, input, UInt64(count), ad.baseAddress, UInt64(ad.count))
        return rc == 0 ? tag : nil
    }

    // MARK: BLAKE2b (generichash)

    static let blake2bStateBytes = Int(crypto_generichash_statebytes())

    static func blake2bInit(state: UnsafeMutableRawPointer, outputBytes: Int) {
        _ = initialised
        _ = crypto_generichash_init(OpaquePointer(state), nil, 0, outputBytes)
    }

    static func blake2bUpdate(state: UnsafeMutableRawPointer, _ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        _ = crypto_generichash_update(
            OpaquePointer(state),
            base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    static func blake2bFinal(state: UnsafeMutableRawPointer, outputBytes: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: outputBytes)
        _ = crypto_generichash_final(OpaquePointer(state), &out, outputBytes)
        return out
    }

    // MARK: Ed25519

    static let signPublicKeyBytes = Int(crypto_sign_PUBLICKEYBYTES)
    static let signSecretKeyBytes = Int(crypto_sign_SECRETKEYBYTES)
    static let signatureBytes = Int(crypto_sign_BYTES)

    static func signKeypair(publicKey: inout [UInt8], secretKey: UnsafeMutablePointer<UInt8>) throws {
        try ensureInitialised()
        publicKey = [UInt8](repeating: 0, count: signPublicKeyBytes)
        guard crypto_sign_keypair(&publicKey, secretKey) == 0 else {
            throw KeyManagementError.cryptoUnavailable("Ed25519 key generation failed")
        }
    }

    static func signPublicKey(fromSecret secretKey: UnsafePointer<UInt8>) -> [UInt8] {
        var pk = [UInt8](repeating: 0, count: signPublicKeyBytes)
        _ = crypto_sign_ed25519_sk_to_pk(&pk, secretKey)
        return pk
    }

    static func signDetached(_ message: [UInt8], secretKey: UnsafePointer<UInt8>) throws -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: signatureBytes)
        guard crypto_sign_detached(&signature, nil, message, UInt64(message.count), secretKey) == 0 else {
            throw KeyManagementError.cryptoUnavailable("Ed25519 signing failed")
        }
        return signature
    }

    static func verifyDetached(_ signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        _ = initialised
        guard signature.count == signatureBytes, publicKey.count == signPublicKeyBytes else { return false }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), publicKey) == 0
    }

    // MARK: Argon2id

    static let pwhashSaltBytes = Int(crypto_pwhash_SALTBYTES)
    static let argon2idAlgorithm = Int32(crypto_pwhash_ALG_ARGON2ID13)
    static let opsLimitInteractive = UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE)
    static let memLimitInteractive = Int(crypto_pwhash_MEMLIMIT_INTERACTIVE)
    static let opsLimitModerate = UInt64(crypto_pwhash_OPSLIMIT_MODERATE)
    static let memLimitModerate = Int(crypto_pwhash_MEMLIMIT_MODERATE)
    static let opsLimitSensitive = UInt64(crypto_pwhash_OPSLIMIT_SENSITIVE)
    static let memLimitSensitive = Int(crypto_pwhash_MEMLIMIT_SENSITIVE)

    static func argon2id(
        output: UnsafeMutablePointer<UInt8>, outputBytes: Int, passphrase: UnsafeRawBufferPointer,
        salt: [UInt8], opsLimit: UInt64, memLimit: Int
    ) throws {
        try ensureInitialised()
        guard salt.count == pwhashSaltBytes else { throw KeyManagementError.malformedKeyStore("salt has \(salt.count) bytes") }
        let rc = crypto_pwhash(
            output, UInt64(outputBytes),
            passphrase.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(passphrase.count),
            salt, opsLimit, memLimit, argon2idAlgorithm)
        guard rc == 0 else {
            throw KeyManagementError.cryptoUnavailable("Argon2id failed (out of memory for memlimit \(memLimit)?)")
        }
    }

    // MARK: age (age-encryption.org/v1): X25519, ChaCha20-Poly1305 (IETF), HMAC-SHA-256, scrypt

    /// X25519(scalar, base point) into `publicKey`.
    static func x25519Base(_ secret: UnsafePointer<UInt8>) throws -> [UInt8] {
        try ensureInitialised()
        var out = [UInt8](repeating: 0, count: 32)
        guard crypto_scalarmult_base(&out, secret) == 0 else { throw KeyManagementError.cryptoUnavailable("X25519 failed") }
        return out
    }

    /// X25519(scalar, point) into guarded `shared`; fails for a low-order point (all-zero result).
    static func x25519(_ secret: UnsafePointer<UInt8>, _ point: [UInt8], into shared: UnsafeMutablePointer<UInt8>) throws {
        guard point.count == 32, crypto_scalarmult(shared, secret, point) == 0 else {
            throw KeyManagementError.cryptoUnavailable("X25519 with this recipient failed (a low-order public key)")
        }
    }

    /// ChaCha20-Poly1305 (IETF, 12-byte nonce) of `count` bytes into `output` (count + 16).
    static func chachaEncrypt(
        output: UnsafeMutablePointer<UInt8>, plaintext: UnsafePointer<UInt8>, count: Int, nonce: [UInt8], key: UnsafePointer<UInt8>
    ) throws {
        var written: UInt64 = 0
        let rc = crypto_aead_chacha20poly1305_ietf_encrypt(output, &written, plaintext, UInt64(count), nil, 0, nil, nonce, key)
        guard rc == 0 else { throw KeyManagementError.cryptoUnavailable("ChaCha20-Poly1305 encryption failed") }
    }

    /// Opens ChaCha20-Poly1305 (IETF, 12-byte nonce): `count` bytes of ciphertext and tag into `output`
    /// (count − 16); false when authentication fails, and then `output` holds nothing of it.
    static func chachaDecrypt(
        output: UnsafeMutablePointer<UInt8>, ciphertext: UnsafePointer<UInt8>, count: Int, nonce: [UInt8], key: UnsafePointer<UInt8>
    ) -> Bool {
        guard count >= Int(crypto_aead_chacha20poly1305_ietf_ABYTES), nonce.count == 12 else { return false }
        var written: UInt64 = 0
        return crypto_aead_chacha20poly1305_ietf_decrypt(output, &written, nil, ciphertext, UInt64(count), nil, 0, nonce, key) == 0
    }

    /// HMAC-SHA-256 of `message` under `key` into `output` (32 bytes).
    static func hmacSHA256(key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer, into output: UnsafeMutablePointer<UInt8>) {
        var state = crypto_auth_hmacsha256_state()
        // An empty key or message still needs a valid pointer.
        let zero: [UInt8] = [0]
        zero.withUnsafeBufferPointer { z in
            _ = crypto_auth_hmacsha256_init(&state, key.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? z.baseAddress!, key.count)
            _ = crypto_auth_hmacsha256_update(
                &state, message.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? z.baseAddress!, UInt64(message.count))
        }
        _ = crypto_auth_hmacsha256_final(&state, output)
        sodium_memzero(&state, MemoryLayout<crypto_auth_hmacsha256_state>.size)
    }

    /// scrypt (N = 2^logN, r, p) into `output`.
    static func scrypt(
        passphrase: UnsafeRawBufferPointer, salt: [UInt8], logN: Int, r: UInt32, p: UInt32,
        output: UnsafeMutablePointer<UInt8>, outputBytes: Int
    ) throws {
        try ensureInitialised()
        guard let base = passphrase.baseAddress, passphrase.count > 0 else { throw KeyManagementError.cryptoUnavailable("an empty passphrase") }
        let rc = crypto_pwhash_scryptsalsa208sha256_ll(
            base.assumingMemoryBound(to: UInt8.self), passphrase.count, salt, salt.count,
            UInt64(1) << UInt64(logN), r, p, output, outputBytes)
        guard rc == 0 else { throw KeyManagementError.cryptoUnavailable("scrypt failed (out of memory for N = 2^\(logN)?)") }
    }
}
