// Feeds bytes to SignIn's parsers of attacker-controlled input: the CBOR decoder, COSE keys,
// authenticator data, clientDataJSON, and the verifier's registration (the input as the
// attestation object) and authentication (the input as authenticatorData) paths, the other parts
// being a valid published WebAuthn test vector (packed.ES256, RP ID example.org), so that the
// fuzzer reaches the checks behind the parsers. A refusal is the expected outcome; only a crash
// or a sanitizer report is a finding.
//
// Built by Scripts/fuzz-signin.sh (-sanitize=fuzzer,address -D SIGNIN_FUZZ), `FuzzMain` starts
// libFuzzer, which calls LLVMFuzzerTestOneInput. Built normally, `Replay` runs the files given as
// arguments through the same function, as a crash reproducer: `signin-fuzz FILE...`.
// This file is not main.swift because a main.swift is top-level code, which -parse-as-library
// refuses even inside an inactive #if.
import Foundation
import SignIn

enum Fixture {
    static let verifier = try! WebAuthnVerifier(relyingPartyID: "example.org", origin: "https://example.org")
    static let registrationChallenge = bytes("c1184a5fddf8045e13dc47f54b61f5a656b666b59018f16d870e9256e9952012")
    static let registrationClientData = Array(#"{"type":"webauthn.create","challenge":"wRhKX934BF4T3Ef1S2H1pla2ZrWQGPFthw6SVumVIBI","origin":"https://example.org","crossOrigin":false}"#.utf8)
    static let authenticationChallenge = bytes("b1106fa46a57bef1781511c0557dc898a03413d5f0f17d244630c194c7e1adb5")
    static let authenticationClientData = Array(#"{"type":"webauthn.get","challenge":"sRBvpGpXvvF4FRHAVX3ImKA0E9Xw8X0kRjDBlMfhrbU","origin":"https://example.org","crossOrigin":false,"extraData":"clientDataJSON may be extended with additional fields in the future, such as this: AZMwyMxIbD8-uguFNp6r8Q"}"#.utf8)
    static let signature = bytes(
        "30450220694969d3ee928de6f02ef23a9c644d7d779916451734a94b432542f498a1ebe90221008b0819c824218a97152cd099c55bfb1477b29d900a49a64018314f9bfccda163")
    static let credential = PasskeyCredential(
        credentialID: bytes("c9a6f5b3462d02873fea0c56862234f99f081728084e511bb7760201a89054a5"),
        publicKey: bytes("a50102032620012158201cf27f25da591208a4239c2e324f104f585525479a29edeedd830f48e77aeae522582059e4b7da6c0106e206ce390c93ab98a15a5ec3887e57f0cc2bece803b920c423"),
        signCount: 0, userHandle: [1])

    static func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8).map { $0 <= 0x39 ? $0 - 0x30 : $0 - 0x61 + 10 }
        return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }
}

func exercise(_ input: [UInt8]) {
    _ = try? CBOR.decode(input)
    _ = try? COSEKey(cbor: input)
    _ = try? AuthenticatorData(input)
    _ = try? AttestationObject(input)
    _ = try? ClientData(json: input)
    _ = try? Fixture.verifier.verifyRegistration(
        clientDataJSON: Fixture.registrationClientData, attestationObject: input,
        expectedChallenge: Fixture.registrationChallenge, userHandle: [1])
    _ = try? Fixture.verifier.verifyAuthentication(
        credentialID: Fixture.credential.credentialID, clientDataJSON: Fixture.authenticationClientData,
        authenticatorData: input, signature: Fixture.signature, userHandle: nil,
        expectedChallenge: Fixture.authenticationChallenge, credential: Fixture.credential)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    exercise(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

#if SIGNIN_FUZZ
/// SwiftPM's debug builds rename an executable's entry point and link `main` to it, so
/// libFuzzer's own `main` is never linked in; this entry point starts libFuzzer's driver instead.
/// The script keeps the driver in the binary with `-Xlinker --undefined=LLVMFuzzerRunDriver`.
@main
enum FuzzMain {
    typealias Driver = @convention(c) (
        UnsafeMutablePointer<CInt>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    static func main() {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "LLVMFuzzerRunDriver") else {
            FileHandle.standardError.write(Data("signin-fuzz: libFuzzer is not linked in\n".utf8))
            exit(2)
        }
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(unsafeBitCast(symbol, to: Driver.self)(&argc, &argv, fuzzOneInput))
    }
}
#else
@main
enum Replay {
    static func main() {
        var failures: Int32 = 0
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("signin-fuzz: cannot read \(path)\n".utf8))
                failures += 1
                continue
            }
            exercise(Array(data))
            print("ok \(path)")
        }
        exit(failures == 0 ? 0 : 1)
    }
}
#endif
