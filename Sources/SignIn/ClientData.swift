/// The client data a browser collects and the authenticator signs the SHA-256 of
/// (WebAuthn Level 2 §5.8.1), for example
///
///     {"type":"webauthn.get","challenge":"OcDnUhQXulTUPo3JUXT0I97pvzzYBP9tZchXyav01Ag","origin":"https://example.org","crossOrigin":false}
///
/// `type`, `challenge` (base64url, no padding) and `origin` are required strings; `crossOrigin`
/// is optional but must be a boolean; `topOrigin` (Level 3) is optional but must be a string.
/// Other members (browsers add some, such as `extraData`) are ignored, as the specification
/// requires. The input must be strict JSON (`StrictJSON`) of at most `maxLength` bytes.
public struct ClientData: Sendable {
    /// Largest clientDataJSON accepted; browsers send a few hundred bytes.
    public static let maxLength = 16 * 1024

    public let type: String
    public let challenge: [UInt8]
    public let origin: String
    public let crossOrigin: Bool
    public let topOrigin: String?

    public init(json: [UInt8]) throws {
        guard json.count <= Self.maxLength else { throw SignInError.tooLarge(what: "clientDataJSON", limit: Self.maxLength) }
        var type: String?, challenge: String?, origin: String?, crossOrigin: Bool?, topOrigin: String?
        for (name, value) in try StrictJSON.topLevelObject(json) {
            // Names are compared byte for byte, not by Swift's canonical equivalence.
            switch (Array(name.utf8), value) {
            case (Array("type".utf8), .string(let s)): type = s
            case (Array("challenge".utf8), .string(let s)): challenge = s
            case (Array("origin".utf8), .string(let s)): origin = s
            case (Array("crossOrigin".utf8), .bool(let b)): crossOrigin = b
            case (Array("topOrigin".utf8), .string(let s)): topOrigin = s
            case (Array("type".utf8), _), (Array("challenge".utf8), _), (Array("origin".utf8), _),
                 (Array("crossOrigin".utf8), _), (Array("topOrigin".utf8), _):
                throw SignInError.malformed("clientDataJSON member \(name) has the wrong type")
            default:
                continue
            }
        }
        guard let type, let challenge, let origin else {
            throw SignInError.malformed("clientDataJSON lacks one of type, challenge and origin")
        }
        self.type = type
        self.challenge = try Base64URL.decode(challenge)
        self.origin = origin
        self.crossOrigin = crossOrigin ?? false
        self.topOrigin = topOrigin
    }
}
