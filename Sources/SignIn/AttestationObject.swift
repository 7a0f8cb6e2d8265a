/// The attestation object a registration returns (WebAuthn Level 2 §6.5): a CBOR map of exactly
/// `fmt` (text), `attStmt` (map) and `authData` (bytes, parsed as `AuthenticatorData`), at most
/// `maxLength` bytes. Whether the format is acceptable is the verifier's decision, not the
/// parser's.
public struct AttestationObject: Sendable {
    /// Largest attestation object accepted: a "none" one with the longest credential id is about
    /// 1.2 KiB, one with a certificate chain a few KiB.
    public static let maxLength = 64 * 1024

    public let format: String
    public let statement: [CBORValue: CBORValue]
    public let authenticatorData: AuthenticatorData
    /// The authData bytes exactly as received.
    public let authenticatorDataBytes: [UInt8]

    public init(_ bytes: [UInt8]) throws {
        guard bytes.count <= Self.maxLength else { throw SignInError.tooLarge(what: "attestationObject", limit: Self.maxLength) }
        guard case .map(let map) = try CBOR.decode(bytes) else {
            throw SignInError.malformed("attestation object is not a CBOR map")
        }
        guard map.count == 3,
              case .text(let format)? = map[.text("fmt")],
              case .map(let statement)? = map[.text("attStmt")],
              case .bytes(let authData)? = map[.text("authData")]
        else {
            throw SignInError.malformed("attestation object is not exactly fmt (text), attStmt (map), authData (bytes)")
        }
        self.format = format
        self.statement = statement
        self.authenticatorDataBytes = authData
        self.authenticatorData = try AuthenticatorData(authData)
    }
}
