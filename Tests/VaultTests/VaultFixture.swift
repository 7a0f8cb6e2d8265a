import Foundation
import GRDB
import KeyManagement
import Storage
import TestSupport
import XCTest
@testable import Vault

/// A fresh store, with helpers to put, get and tamper: in a temp folder, or on PostgreSQL and the
/// object store when the run is on the shared backends (TestBackend).
final class VaultFixture {
    let root: String
    let layout: StoreLayout
    let store: TestStore
    var vault: Vault

    init(options: Vault.Options = Vault.Options()) throws {
        root = NSTemporaryDirectory() + "vault-" + UUID().uuidString
        layout = StoreLayout(root: root + "/store")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        store = try TestStore(layout: layout)
        vault = try Vault.create(at: layout, master: store.master, by: .operator("test:init"), options: store.options(options))
    }

    func reopen(options: Vault.Options = Vault.Options()) throws -> Vault {
        try Vault.open(at: layout, master: store.master, options: store.options(options))
    }

    /// Opens the store without its master key (keyless work).
    func openKeyless(options: Vault.Options = Vault.Options()) throws -> Vault {
        try Vault.open(at: layout, master: nil, options: store.options(options))
    }

    deinit {
        vault.close()
        try? FileManager.default.removeItem(atPath: root)
    }

    static func sample(_ name: String) -> URL {
        Bundle.module.url(forResource: "Samples/" + name, withExtension: nil)!
    }

    static func sampleBytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: sample(name))) }

    @discardableResult
    func put(_ bytes: [UInt8], kind: String, filename: String = "evidence", declared: String? = nil, school: String = "S1",
             child: String = "C1", concern: String = "K1", by caller: Caller = .operator("dsl:jo"), into vault: Vault? = nil) throws -> EvidenceRecord {
        let session = try (vault ?? self.vault).beginPut(PutRequest(
            school: school, child: child, concern: concern, kind: kind, filename: filename, declaredType: declared), by: caller)
        // Several writes, to exercise streaming.
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + 50_000)
            try bytes[offset..<end].withUnsafeBytes { try session.write($0) }
            offset = end
        }
        return try session.finish()
    }

    func putSample(_ name: String, kind: String, declared: String? = nil) throws -> EvidenceRecord {
        try put(try Self.sampleBytes(name), kind: kind, filename: name, declared: declared)
    }

    func get(_ id: String, by caller: Caller = .operator("dsl:jo"), from vault: Vault? = nil) throws -> [UInt8] {
        var out: [UInt8] = []
        try (vault ?? self.vault).get(id: id, by: caller) { out += $0 }
        return out
    }

    var events: [AuditEvent] { get throws { try vault.audit.log(record: nil, by: .operator("test:reader")) } }

    /// Adds a user and returns them as the server sees them once signed in (with their account id).
    func signIn(_ name: String, _ role: Role, schools: Set<String>) throws -> Principal {
        let issued = try vault.users.addIntegration(name: name, role: role, schools: schools.sorted(), by: .operator("test"))
        guard let principal = try vault.users.authenticate(token: issued.token) else { throw VaultError.forbidden("\(name) did not sign in") }
        return principal
    }

    /// The same person as `p` (name, role, schools), added as a user and signed in.
    func signIn(_ p: Principal) throws -> Principal { try signIn(p.name, p.role, schools: p.schools) }

    /// The catalog, changed directly as an attacker with the database would.
    func tamper(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) throws {
        try store.tamper(sql, arguments)
    }

    func blobPath(_ id: String) -> String { store.blobPath(id) }

    /// The names of the files kept in `area` (released bundles, sent transfer packages),
    /// wherever the store keeps them.
    func sharedFileNames(_ area: SharedArea) throws -> [String] {
        try vault.sharedFiles.list(area).map(\.name).sorted()
    }

    /// A kept file's bytes, by its location (a path, or an s3:// address) or its name.
    func sharedFile(_ area: SharedArea, _ location: String) throws -> [UInt8]? {
        let name = String(location.split(separator: "/").last ?? "")
        guard let reader = try vault.sharedFiles.open(area, name: name) else { return nil }
        defer { reader.close() }
        return Array(try reader.readToEnd() ?? Data())
    }

    /// A copy on this machine's disk of a kept file, for stock tools to open.
    func localCopy(_ area: SharedArea, _ location: String) throws -> String {
        let path = root + "/copy-" + UUID().uuidString
        try Data(try XCTUnwrap(try sharedFile(area, location))).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Puts record `from`'s blob in the place of record `to`'s, on disk or in the bucket.
    func copyBlob(from: String, to: String) throws {
        try store.replaceBlob(to, with: try store.blob(from))
    }

    /// Every regular file under the store, recursively.
    func allStoreFiles() -> [String] {
        let e = FileManager.default.enumerator(atPath: layout.root)!
        var files: [String] = []
        while let p = e.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: layout.root + "/" + p, isDirectory: &isDir), !isDir.boolValue { files.append(p) }
        }
        return files
    }
}

extension Principal {
    /// A principal for checks that never look the user's account up (roles, schools, bundles).
    /// Whatever follows an account (own uploads, a shred request's approval) needs one signed in
    /// with `VaultFixture.signIn`, whose account exists.
    init(name: String, role: Role, schools: Set<String>) {
        self.init(name: name, role: role, schools: schools, account: "unsigned-" + name)
    }
}

func refusal(_ error: Error) -> Refusal? {
    if case VaultError.refused(let r) = error { return r }
    return nil
}
