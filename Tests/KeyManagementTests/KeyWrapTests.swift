import XCTest
@testable import KeyManagement

final class KeyWrapTests: XCTestCase {
    func binding(school: String = "S1", record: String = "r1", version: UInt64 = 1, kek: String = "kek-a") -> DataKeyBinding {
        DataKeyBinding(schoolID: school, recordID: record, formatVersion: version, kekID: kek)
    }

    func testWrappedDataKeyUnwrapsUnderItsOwnBinding() throws {
        let kek = try SecretBytes.random(count: 32)
        let dek = try DataKey.generate()
        let wrapped = try KeyWrap.wrapDataKey(dek, under: kek, binding: binding())
        XCTAssertEqual(wrapped.count, 24 + 32 + 16)
        let back = try KeyWrap.unwrapDataKey(wrapped, under: kek, binding: binding())
        XCTAssertTrue(back.isEqual(to: dek))
    }

    func testWrappedKeyMovedToAnotherRecordFailsToUnwrap() throws {
        let kek = try SecretBytes.random(count: 32)
        let wrapped = try KeyWrap.wrapDataKey(try DataKey.generate(), under: kek, binding: binding())
        XCTAssertThrowsError(try KeyWrap.unwrapDataKey(wrapped, under: kek, binding: binding(record: "r2"))) {
            guard case KeyManagementError.unwrapFailed = $0 else { return XCTFail("\($0)") }
        }
    }

    func testWrappedKeyMovedToAnotherSchoolFailsToUnwrap() throws {
        let kek = try SecretBytes.random(count: 32)
        let wrapped = try KeyWrap.wrapDataKey(try DataKey.generate(), under: kek, binding: binding())
        XCTAssertThrowsError(try KeyWrap.unwrapDataKey(wrapped, under: kek, binding: binding(school: "S2")))
    }

    func testWrappedKeyPresentedAsAnotherVersionOrKEKFailsToUnwrap() throws {
        let kek = try SecretBytes.random(count: 32)
        let wrapped = try KeyWrap.wrapDataKey(try DataKey.generate(), under: kek, binding: binding())
        XCTAssertThrowsError(try KeyWrap.unwrapDataKey(wrapped, under: kek, binding: binding(version: 0)))
        XCTAssertThrowsError(try KeyWrap.unwrapDataKey(wrapped, under: kek, binding: binding(kek: "kek-b")))
    }

    func testWrappedKeyUnderAnotherKEKFailsToUnwrap() throws {
        let wrapped = try KeyWrap.wrapDataKey(try DataKey.generate(), under: try SecretBytes.random(count: 32), binding: binding())
        XCTAssertThrowsError(try KeyWrap.unwrapDataKey(wrapped, under: try SecretBytes.random(count: 32), binding: binding()))
    }

    func testEveryFlippedBitOfAWrappedKeyIsDetected() throws {
        let kek = try SecretBytes.random(count: 32)
        let wrapped = try KeyWrap.wrapDataKey(try DataKey.generate(), under: kek, binding: binding())
        for byte in 0..<wrapped.count {
            var tampered = wrapped
            tampered[byte] ^= 0x01
            XCTAssertThrowsError(try KeyWrap.unwrapDataKey(tampered, under: kek, binding: binding()), "byte \(byte)")
        }
        XCTAssertThrowsError(try KeyWrap.unwrapDataKey(Array(wrapped.dropLast()), under: kek, binding: binding()))
    }

    func testBindingEncodingCannotBeShiftedBetweenFields() {
        // "S1" + "2r" must not encode like "S12" + "r": length prefixes keep fields apart.
        let a = DataKeyBinding(schoolID: "S1", recordID: "2r", formatVersion: 1, kekID: "k").associatedData
        let b = DataKeyBinding(schoolID: "S12", recordID: "r", formatVersion: 1, kekID: "k").associatedData
        XCTAssertNotEqual(a, b)
    }

    /// Known-answer vector: today's code must still unwrap a key wrapped by version 1.
    func testDataKeyWrapVectorV1StillUnwraps() throws {
        let kek = try secret(hex: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
        let wrapped = Hex.decode(KeyWrapVector.wrappedHex)!
        let dek = try KeyWrap.unwrapDataKey(
            wrapped, under: kek, binding: DataKeyBinding(schoolID: "school-1", recordID: "0123456789abcdef0123456789abcdef", formatVersion: 1, kekID: "kek-0001"))
        XCTAssertEqual(dek.withUnsafeBytes { Hex.encode($0) }, "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf")
    }

    func secret(hex: String) throws -> SecretBytes {
        let bytes = Hex.decode(hex)!
        let s = try SecretBytes(count: bytes.count)
        s.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
        return s
    }
}
