import Crypto
import Foundation
import SignIn

/// Builds registration and assertion messages exactly as an authenticator and a browser would:
/// a real swift-crypto key, a COSE_Key, authenticator data, a CBOR attestation object, the
/// clientDataJSON and a signature over authenticatorData || SHA-256(clientDataJSON). Every field
/// can be changed, so tests can build each thing a verifier must refuse.
public struct TestAuthenticator {
    public enum Key {
        case es256(P256.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)
    }

    public static let rpID = "vault.school.example"
    public static let origin = "https://vault.school.example"

    public let key: Key
    public var credentialID: [UInt8]
    public var signCount: UInt32 = 0
    public var aaguid = [UInt8](repeating: 0xaa, count: 16)

    public init(key: Key, credentialID: [UInt8], signCount: UInt32 = 0) {
        self.key = key
        self.credentialID = credentialID
        self.signCount = signCount
    }

    public static func es256() -> TestAuthenticator {
        TestAuthenticator(key: .es256(P256.Signing.PrivateKey()), credentialID: (0..<16).map { UInt8($0) })
    }

    public static func ed25519() -> TestAuthenticator {
        TestAuthenticator(key: .ed25519(Curve25519.Signing.PrivateKey()), credentialID: (16..<48).map { UInt8($0) })
    }

    /// The credential public key as a COSE_Key map, in the canonical CTAP2 order.
    public var coseKey: TestCBOR {
        switch key {
        case .es256(let privateKey):
            let point = Array(privateKey.publicKey.x963Representation)
            return .map([(.int(1), .int(2)), (.int(3), .int(-7)), (.int(-1), .int(1)),
                         (.int(-2), .bytes(Array(point[1..<33]))), (.int(-3), .bytes(Array(point[33..<65])))])
        case .ed25519(let privateKey):
            return .map([(.int(1), .int(1)), (.int(3), .int(-8)), (.int(-1), .int(6)),
                         (.int(-2), .bytes(Array(privateKey.publicKey.rawRepresentation)))])
        }
    }

    public func sign(_ message: [UInt8]) -> [UInt8] {
        switch key {
        case .es256(let privateKey): return Array(try! privateKey.signature(for: message).derRepresentation)
        case .ed25519(let privateKey): return Array(try! privateKey.signature(for: message))
        }
    }

    public static let upUV: UInt8 = 0x05

    public func authenticatorData(
        rpID: String = rpID, flags: UInt8 = upUV, signCount: UInt32? = nil,
        attested: Bool = false, coseKey: TestCBOR? = nil, extensions: TestCBOR? = nil
    ) -> [UInt8] {
        var flags = flags
        if attested { flags |= 0x40 }
        if extensions != nil { flags |= 0x80 }
        var data = Array(SHA256.hash(data: Array(rpID.utf8))) + [flags] + TestCBOR.bigEndian(UInt64(signCount ?? self.signCount), 4)
        if attested {
            data += aaguid + TestCBOR.bigEndian(UInt64(credentialID.count), 2) + credentialID + (coseKey ?? self.coseKey).encoded
        }
        if let extensions { data += extensions.encoded }
        return data
    }

    public static func clientDataJSON(
        type: String, challenge: [UInt8], origin: String = origin, crossOrigin: Bool? = false, extra: String = ""
    ) -> [UInt8] {
        var json = "{\"type\":\"\(type)\",\"challenge\":\"\(Base64URL.encode(challenge))\",\"origin\":\"\(origin)\""
        if let crossOrigin { json += ",\"crossOrigin\":\(crossOrigin)" }
        return Array((json + extra + "}").utf8)
    }

    public static func attestationObject(fmt: String = "none", attStmt: TestCBOR = .map([]), authData: [UInt8]) -> [UInt8] {
        TestCBOR.map([(.text("fmt"), .text(fmt)), (.text("attStmt"), attStmt), (.text("authData"), .bytes(authData))]).encoded
    }

    /// A registration response: (clientDataJSON, attestationObject).
    public func register(challenge: [UInt8], flags: UInt8 = upUV) -> (clientDataJSON: [UInt8], attestationObject: [UInt8]) {
        let authData = authenticatorData(flags: flags, attested: true)
        return (Self.clientDataJSON(type: "webauthn.create", challenge: challenge), Self.attestationObject(authData: authData))
    }

    /// An assertion response over `clientDataJSON` (by default a correct one for `challenge`).
    public mutating func assert(
        challenge: [UInt8], clientDataJSON: [UInt8]? = nil, authenticatorData: [UInt8]? = nil
    ) -> (clientDataJSON: [UInt8], authenticatorData: [UInt8], signature: [UInt8]) {
        signCount += 1
        let client = clientDataJSON ?? Self.clientDataJSON(type: "webauthn.get", challenge: challenge)
        let authData = authenticatorData ?? self.authenticatorData()
        return (client, authData, sign(authData + Array(SHA256.hash(data: client))))
    }
}
