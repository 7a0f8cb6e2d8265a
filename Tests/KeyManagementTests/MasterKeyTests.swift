import XCTest
@testable import KeyManagement

final class MasterKeyTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "km-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func testMasterKeyFileIsCreatedWithMode0600() throws {
        _ = try MasterKeyFile.create(at: dir + "/master.key")
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/master.key")
        XCTAssertEqual((attributes[.posixPermissions] as! NSNumber).intValue, 0o600)
        XCTAssertEqual((attributes[.size] as! NSNumber).intValue, 40)
    }

    func testMasterKeyFileReadableByGroupOrOthersIsRefused() throws {
        _ = try MasterKeyFile.create(at: dir + "/master.key")
        for mode in [0o644, 0o640, 0o604] {
            chmod(dir + "/master.key", mode_t(mode))
            XCTAssertThrowsError(try MasterKeyFile.open(at: dir + "/master.key")) { error in
                guard case KeyManagementError.masterKeyFile(_, let problem) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(problem.contains("readable by group or others"), problem)
            }
        }
        chmod(dir + "/master.key", 0o600)
        XCTAssertNoThrow(try MasterKeyFile.open(at: dir + "/master.key"))
    }

    func testMasterKeyFileIsNeverOverwritten() throws {
        _ = try MasterKeyFile.create(at: dir + "/master.key")
        XCTAssertThrowsError(try MasterKeyFile.create(at: dir + "/master.key")) {
            XCTAssertEqual($0 as? KeyManagementError, .alreadyExists(self.dir + "/master.key"))
        }
    }

    func testTruncatedOrForeignMasterKeyFileIsRefused() throws {
        let path = dir + "/master.key"
        _ = FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: 40), attributes: [.posixPermissions: 0o600])
        XCTAssertThrowsError(try MasterKeyFile.open(at: path))
        _ = FileManager.default.createFile(atPath: path + "2", contents: Data("SRMKEY".utf8) + Data([0, 1]) + Data(count: 31), attributes: [.posixPermissions: 0o600])
        XCTAssertThrowsError(try MasterKeyFile.open(at: path + "2"))
    }

    func testKeyStoreOpensWithItsMasterKeyFileAndNotAnother() throws {
        let master = try MasterKeyFile.create(at: dir + "/master.key")
        let store = try KeyStore.create(directory: dir, master: master)
        let (id, kek) = try store.kek(school: "S1", period: "2040-01")
        let reopened = try KeyStore.open(directory: dir, master: try MasterKeyFile.open(at: dir + "/master.key"))
        XCTAssertTrue(try reopened.kek(id: id).isEqual(to: kek))
        let other = try MasterKeyFile.create(at: dir + "/other.key")
        XCTAssertThrowsError(try KeyStore.open(directory: dir, master: other)) {
            XCTAssertEqual($0 as? KeyManagementError, .wrongMasterKey)
        }
    }

    func testWrongPassphraseDoesNotOpenKeyStore() throws {
        let params = PassphraseKDFParameters.generate(cost: .interactive)
        let right = try PassphraseMasterKey.derive(passphrase: try phrase("correct horse battery staple"), parameters: params)
        _ = try KeyStore.create(directory: dir, master: right)
        let descriptor = try KeyStore.descriptor(directory: dir)
        XCTAssertEqual(descriptor.masterKey.kind, .passphrase)
        XCTAssertEqual(descriptor.masterKey.kdf, params)
        let wrong = try PassphraseMasterKey.derive(passphrase: try phrase("correct horse battery stapler"), parameters: params)
        XCTAssertThrowsError(try KeyStore.open(directory: dir, master: wrong)) {
            XCTAssertEqual($0 as? KeyManagementError, .wrongMasterKey)
        }
        let again = try PassphraseMasterKey.derive(passphrase: try phrase("correct horse battery staple"), parameters: params)
        XCTAssertNoThrow(try KeyStore.open(directory: dir, master: again))
    }

    func testKeyStoreRefusesToOverwriteAnExistingOne() throws {
        let master = try MasterKeyFile.create(at: dir + "/master.key")
        _ = try KeyStore.create(directory: dir, master: master)
        XCTAssertThrowsError(try KeyStore.create(directory: dir, master: master)) {
            guard case KeyManagementError.alreadyExists = $0 else { return XCTFail("\($0)") }
        }
    }

    func testKeyStoreFileHoldsNoKeyInTheClear() throws {
        let master = try MasterKeyFile.create(at: dir + "/master.key")
        let store = try KeyStore.create(directory: dir, master: master)
        let file = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + KeyStore.fileName))
        let kek = try store.kek(school: "S1", period: "2040-01").key.withUnsafeBytes { Data($0) }
        XCTAssertNil(file.range(of: kek))
        XCTAssertNil(file.range(of: Data(kek.base64EncodedString().utf8)))
        XCTAssertNil(file.range(of: Data(Hex.encode(kek).utf8)))
        let signing = try store.auditSigner().secret.withUnsafeBytes { Data($0.prefix(32)) }
        XCTAssertNil(file.range(of: signing))
    }

    func testKEKWrappedForAnotherKEKIdFailsToUnwrap() throws {
        let master = try MasterKeyFile.create(at: dir + "/master.key")
        _ = try KeyStore.create(directory: dir, master: master).kek(school: "S1", period: "2040-01")
        // Rename the KEK in the file: its wrap is bound to its id, so it no longer opens.
        let path = dir + "/" + KeyStore.fileName
        var text = try String(contentsOfFile: path, encoding: .utf8)
        let id = try KeyStore.open(directory: dir, master: master).keks[0].id
        text = text.replacingOccurrences(of: id, with: "kek-0000000000000000")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let store = try KeyStore.open(directory: dir, master: master)
        XCTAssertThrowsError(try store.kek(school: "S1", period: "2040-01")) { XCTAssertEqual($0 as? KeyManagementError, .wrongMasterKey) }
    }

    func testAuditSignatureVerifiesWithThePublicKeyAlone() throws {
        let master = try MasterKeyFile.create(at: dir + "/master.key")
        let store = try KeyStore.create(directory: dir, master: master)
        let signer = try store.auditSigner()
        let message = Array("checkpoint 42".utf8)
        let signature = try signer.sign(message)
        let exported = VaultPublicKey(text: signer.publicKey.fileText)!
        XCTAssertEqual(exported, signer.publicKey)
        XCTAssertTrue(exported.verify(signature: signature, message: message))
        XCTAssertFalse(exported.verify(signature: signature, message: Array("checkpoint 43".utf8)))
        var bad = signature
        bad[0] ^= 1
        XCTAssertFalse(exported.verify(signature: bad, message: message))
        XCTAssertEqual(try KeyStore.descriptor(directory: dir).publicKey, signer.publicKey)
    }

    func testPublicKeyTextWithAWrongKeyIdIsRejected() throws {
        let key = VaultPublicKey(bytes: Array(repeating: 9, count: 32))
        var raw = Array(Data(base64Encoded: key.minisignBase64)!)
        raw[3] ^= 1
        XCTAssertNil(VaultPublicKey(text: Data(raw).base64EncodedString()))
        XCTAssertNotNil(VaultPublicKey(text: key.minisignBase64))
    }

    func testCoreDumpsAreDisabledByProcessHardening() {
        XCTAssertEqual(ProcessHardening.apply(), [])
        XCTAssertTrue(ProcessHardening.coreDumpsDisabled)
    }

    func testSecretBytesHaveNoPrintableContent() throws {
        let secret = try SecretBytes.random(count: 32)
        let hex = secret.withUnsafeBytes { Hex.encode($0) }
        XCTAssertFalse(String(describing: secret).contains(hex))
        XCTAssertFalse(String(reflecting: secret).contains(hex))
        XCTAssertTrue(Mirror(reflecting: secret).children.isEmpty)
    }

    func phrase(_ text: String) throws -> SecretBytes {
        let bytes = Array(text.utf8)
        let s = try SecretBytes(count: bytes.count)
        s.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
        return s
    }
}

extension MasterKeyTests {
    func testBackupSigningKeySignsForItsPublicKeyAndRefusesLoosePermissions() throws {
        let path = dir + "/backup.key"
        let publicKey = try BackupSigningKey.create(at: path)
        let signer = try BackupSigningKey.open(at: path)
        let message = Array("manifest".utf8)
        XCTAssertTrue(publicKey.verify(signature: try signer.sign(message), message: message))
        chmod(path, 0o644)
        XCTAssertThrowsError(try BackupSigningKey.open(at: path))
        XCTAssertThrowsError(try BackupSigningKey.create(at: path))
    }
}

final class LedgerHeadTests: XCTestCase {
    /// A store written before the head was signed (version 2, head unsigned or absent) is
    /// upgraded by the first process with the master key: the head signed, at least as far as
    /// the ledger's own last signed entry, and the signing key wrapped for version 3.
    func testAVersion2KeyStoreIsUpgradedWithASignedHead() throws {
        let dir = NSTemporaryDirectory() + "head-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let master = try MasterKeyFile.create(at: dir + "/master.key")
        let store = try KeyStore.create(directory: dir, master: master)
        let signer = try store.auditSigner()
        let ledger = DeletionLedger(directory: dir, vaultID: store.vaultID)
        let appended = try ledger.append([.init(record: String(repeating: "a", count: 32), school: "S1", sha256: "00", request: "r")],
                                         signer: signer, now: Date())
        // Rewrite the file as version 2 would have it: v1 wrap label, no head.
        let path = dir + "/" + KeyStore.fileName
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        let wrappedV2 = try master.wrap(signer.secret, associatedData: KeyStore.signingKeyBinding(vaultID: store.vaultID, version: 2))
        json["version"] = 2
        json["ledgerHead"] = nil
        var signing = json["auditSigningKey"] as! [String: Any]
        signing["wrapped"] = Data(wrappedV2).base64EncodedString()
        json["auditSigningKey"] = signing
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        XCTAssertNil(try KeyStore.ledgerHead(directory: dir), "an old file's head is read as it is until upgraded")
        _ = try KeyStore.open(directory: dir, master: try MasterKeyFile.open(at: dir + "/master.key"))
        let upgraded = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        XCTAssertEqual(upgraded["version"] as? Int, 3)
        XCTAssertEqual(try KeyStore.ledgerHead(directory: dir)?.seq, appended.head?.seq)
        XCTAssertEqual(try KeyStore.ledgerHead(directory: dir)?.hash, appended.head?.hash)
        _ = try KeyStore.open(directory: dir, master: try MasterKeyFile.open(at: dir + "/master.key"))
    }
}
