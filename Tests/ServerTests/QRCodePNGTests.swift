import Foundation
import TestSupport
import XCTest
@testable import StrongroomServer
@testable import Vault

/// The enrolment QR code: a PNG any reader decodes back to the exact otpauth URI.
final class QRCodePNGTests: XCTestCase {
    static let uri = "otpauth://totp/Strongroom:jo.smith?secret=B2E3IFEB2PL5L7AYWMEGOBRBWVCQKQMQ&issuer=Strongroom&algorithm=SHA1&digits=6&period=30"

    /// zbarimg (zbar-tools, installed by `Scripts/setup.sh --test`) reads the QR code in a PNG file.
    func decodeWithZbar(_ png: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "qr-" + UUID().uuidString + ".png"
        try Data(png).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try runTool("/usr/bin/zbarimg", ["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", path])
        XCTAssertEqual(run.status, 0, run.stderr)
        return run.text.trimmingCharacters(in: .newlines)
    }

    func testTheURIRoundTripsThroughAStockQRReader() throws {
        let png = try QRCodePNG(text: Self.uri).png
        XCTAssertEqual(try decodeWithZbar(png), Self.uri)
    }

    func testTheImageIsAGreyscalePNGOfTheSymbolWithAFourModuleQuietZone() throws {
        let code = try QRCodePNG(text: Self.uri, scale: 3)
        let png = try code.png
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // IHDR: width and height are the symbol plus 4 modules each side, times the scale.
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(width, (code.modules.count + 8) * 3)
        XCTAssertEqual(height, width)
        XCTAssertEqual(png[24], 8, "8 bits a pixel")
        XCTAssertEqual(png[25], 0, "greyscale")
        // A version-1 symbol is 21 modules; each version adds 4. The three finder patterns'
        // corners are dark.
        XCTAssertEqual((code.modules.count - 21) % 4, 0)
        let last = code.modules.count - 1
        XCTAssertTrue(code.modules[0][0] && code.modules[0][last] && code.modules[last][0])
        XCTAssertEqual(try decodeWithZbar(png), Self.uri)
    }

    func testDifferentTextGivesADifferentSymbol() throws {
        let other = Self.uri.replacingOccurrences(of: "B2E3", with: "C2E3")
        XCTAssertNotEqual(try QRCodePNG(text: other).modules, try QRCodePNG(text: Self.uri).modules)
        XCTAssertEqual(try decodeWithZbar(try QRCodePNG(text: other).png), other)
    }

    func testTextTooLongForAnyQRCodeIsRefused() {
        XCTAssertThrowsError(try QRCodePNG(text: String(repeating: "x", count: 4000))) {
            XCTAssertEqual($0 as? QRCodePNG.Failure, .cannotEncode)
        }
    }

    func testTheEnrolmentRouteServesTheWaitingSecretOnlyOnceAPassphraseIsSet() async throws {
        let server = try await ServerFixture()
        let issued = try server.vault.users.addPerson(name: "jo.smith", role: .dsl, schools: ["S1"], by: .operator("test"))
        let path = "/v1/enrolment/\(issued.token)/totp-qr.png"
        let before = try await server.request("GET", path)
        XCTAssertEqual(before.status, 404, "no secret waits before a passphrase is set")

        let totp = try server.vault.users.setEnrolmentPassphrase(token: issued.token, passphrase: "kettle orbit daffodil lamp")
        let reply = try await server.request("GET", path)
        XCTAssertEqual(reply.status, 200)
        XCTAssertEqual(reply.headers["content-type"], "image/png")
        XCTAssertEqual(reply.headers["cache-control"], "no-store")
        XCTAssertEqual(try decodeWithZbar(reply.body), totp.otpauthURI)

        let unknown = try await server.request("GET", "/v1/enrolment/\(String(repeating: "A", count: 43))/totp-qr.png")
        XCTAssertEqual(unknown.status, 404)
        XCTAssertEqual((unknown.json as? [String: Any])?["type"] as? String, "urn:strongroom:problem:enrolment-unusable")
        try await server.stop()
    }
}
