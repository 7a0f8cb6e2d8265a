/// Wrapping a key under another key with XChaCha20-Poly1305 (IETF AEAD).
///
/// Why not AES-KW (RFC 3394), the usual key-wrap choice: AES-KW has no associated data, so it
/// cannot bind a data key to its record, school and KEK, and libsodium offers no AES-KW. XChaCha20's
/// 192-bit random nonce makes nonce reuse under one KEK negligible for any number of wraps, and
/// Poly1305 authenticates the wrapped key and its binding together. See docs/keys.md for the
/// documented deviation (OWASP ASVS 5.0, V11).
///
/// Wrapped form: nonce (24 bytes) ‖ ciphertext of the key ‖ tag (16 bytes).
public enum KeyWrap {
    public static func wrappedSize(keyBytes: Int) -> Int { Sodium.aeadNonceBytes + keyBytes + Sodium.aeadTagBytes }

    public static func wrap(_ key: SecretBytes, under kek: SecretBytes, associatedData: [UInt8]) throws -> [UInt8] {
        precondition(kek.count == Sodium.aeadKeyBytes)
        let nonce = randomPublicBytes(Sodium.aeadNonceBytes)
        var out = [UInt8](repeating: 0, count: key.count + Sodium.aeadTagBytes)
        try out.withUnsafeMutableBufferPointer { o in
            try Sodium.aeadEncrypt(
                output: o.baseAddress!, plaintext: key.typedPointer, count: key.count,
                ad: associatedData, nonce: nonce, key: kek.typedPointer)
        }
        return nonce + out
    }

    /// Unwraps into guarded memory; throws `.unwrapFailed` when the wrapped bytes or the binding differ.
    public static func unwrap(
        _ wrapped: [UInt8], under kek: SecretBytes, associatedData: [UInt8], context: String
    ) throws -> SecretBytes {
        let overhead = Sodium.aeadNonceBytes + Sodium.aeadTagBytes
        guard wrapped.count > overhead else { throw KeyManagementError.unwrapFailed(context: context + "; too short") }
        let key = try SecretBytes(count: wrapped.count - overhead)
        let ok = wrapped.withUnsafeBufferPointer { w in
            Sodium.aeadDecrypt(
                output: key.typedPointer, ciphertext: w.baseAddress! + Sodium.aeadNonceBytes,
                count: wrapped.count - Sodium.aeadNonceBytes, ad: associatedData,
                nonce: w.baseAddress!, key: kek.typedPointer)
        }
        guard ok else { throw KeyManagementError.unwrapFailed(context: context) }
        return key
    }

    /// A data key is wrapped under a KEK and bound to its record (`DataKeyBinding`).
    public static func wrapDataKey(_ dek: SecretBytes, under kek: SecretBytes, binding: DataKeyBinding) throws -> [UInt8] {
        try wrap(dek, under: kek, associatedData: binding.associatedData)
    }

    public static func unwrapDataKey(_ wrapped: [UInt8], under kek: SecretBytes, binding: DataKeyBinding) throws -> SecretBytes {
        let key = try unwrap(wrapped, under: kek, associatedData: binding.associatedData, context: binding.contextDescription)
        guard key.count == DataKey.bytes else { throw KeyManagementError.unwrapFailed(context: binding.contextDescription + "; wrong key length") }
        return key
    }
}

/// A record's data key: 32 random bytes, one per record, used only for that record's blob.
public enum DataKey {
    public static let bytes = 32
    public static func generate() throws -> SecretBytes { try SecretBytes.random(count: bytes) }
}

extension KeyWrap {
    /// Moves a wrapped data key from one KEK (and binding) to another without allocating: the
    /// key passes through `scratch`, guarded memory the caller reuses, and is zeroed after.
    /// A rotation re-wraps every live record this way.
    public static func rewrapDataKey(
        _ wrapped: [UInt8], from old: SecretBytes, _ oldBinding: DataKeyBinding,
        to new: SecretBytes, _ newBinding: DataKeyBinding, scratch: SecretBytes
    ) throws -> [UInt8] {
        precondition(scratch.count == DataKey.bytes)
        guard wrapped.count == wrappedSize(keyBytes: DataKey.bytes) else {
            throw KeyManagementError.unwrapFailed(context: oldBinding.contextDescription + "; wrong length")
        }
        defer { scratch.zero() }
        let ok = wrapped.withUnsafeBufferPointer { w in
            Sodium.aeadDecrypt(
                output: scratch.typedPointer, ciphertext: w.baseAddress! + Sodium.aeadNonceBytes,
                count: wrapped.count - Sodium.aeadNonceBytes, ad: oldBinding.associatedData,
                nonce: w.baseAddress!, key: old.typedPointer)
        }
        guard ok else { throw KeyManagementError.unwrapFailed(context: oldBinding.contextDescription) }
        return try wrap(scratch, under: new, associatedData: newBinding.associatedData)
    }
}
