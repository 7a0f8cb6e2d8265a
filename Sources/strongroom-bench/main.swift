// strongroom-bench: the in-process benchmark driver used by Scripts/bench-core.sh. It prints
// figures; it asserts nothing. Every subcommand works on a store made by `strongroom init`.
//
//   strongroom-bench audit-events STORE N [BATCH]     append N audit events, BATCH per transaction
//   strongroom-bench put-many STORE LIST IDS [THREADS] put every file named in LIST (one path a
//                                                      line) through Vault.put; ids to IDS
//   strongroom-bench get-many STORE IDS OUTDIR [THREADS] get every id in IDS to OUTDIR/<line number>
//   strongroom-bench seed-records STORE N SCHOOLS BLOBS IDS
//                                                      insert N records straight into the catalog
//                                                      (real data keys wrapped under period KEKs,
//                                                      review dates over 25 years, SCHOOLS schools);
//                                                      BLOBS=K > 0 also writes a K KiB placeholder
//                                                      blob file per record, whose size and BLAKE2b
//                                                      the row records (a shred unlinks blobs and a
//                                                      backup copies them; neither decrypts); ids
//                                                      to IDS. Setup for Scripts/bench-lifecycle.sh
//                                                      and bench-backup.sh, not a measurement.
//
// Each prints one line: "files=N bytes=B seconds=S peak_rss_kib=K" (or "events=N ...").
import Foundation
import GRDB
import KeyManagement
import Storage
import Vault

#if canImport(Glibc)
import Glibc
#endif

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
}

func monotonic() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

func peakRSSKiB() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss)  // KiB on Linux
}

func lines(of path: String) throws -> [String] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
}

/// Runs `body(i)` for every index in `0..<count`, over `threads` threads, each taking a
/// contiguous slice; returns the first error any of them threw.
func parallel(_ count: Int, threads: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
    final class FirstError: @unchecked Sendable {
        let lock = NSLock()
        var error: Error?
        func set(_ e: Error) { lock.withLock { if error == nil { error = e } } }
    }
    let first = FirstError()
    let n = max(1, min(threads, count))
    DispatchQueue.concurrentPerform(iterations: n) { t in
        let lo = count * t / n, hi = count * (t + 1) / n
        for i in lo..<hi {
            if first.lock.withLock({ first.error != nil }) { return }
            do { try body(i) } catch { first.set(error); return }
        }
    }
    if let error = first.error { throw error }
}

/// Opens a store; its blobs in the object store `STRONGROOM_BLOBS` names, when set (as the CLI).
func openVault(_ store: String) throws -> Vault {
    var options = Vault.Options()
    let env = ProcessInfo.processInfo.environment
    if let text = env["STRONGROOM_BLOBS"], !text.isEmpty {
        options.blobs = .objectStore(try S3Location(parsing: text), try S3Credentials.fromEnvironment(env))
    }
    return try Vault.open(at: StoreLayout(root: store), master: .keyFile(nil), options: options)
}

/// Appends `count` events shaped like a `get`'s, `batch` per transaction, signing a checkpoint
/// with the last batch only (a signature per batch would measure Ed25519, not the log).
func auditEvents(store: String, count: Int, batch: Int) throws {
    let keysDir = store + "/keys"
    let (vaultID, _, _) = try KeyStore.descriptor(directory: keysDir)
    let keys = try KeyStore.open(directory: keysDir, master: try MasterKeyFile.open(at: keysDir + "/master.key"))
    let signer = try keys.auditSigner()
    let catalog = try SQLiteCatalog.open(path: store + "/" + SQLiteCatalog.fileName, vaultID: vaultID)
    let start = monotonic()
    var written = 0
    var entries: [AuditEntry] = []
    entries.reserveCapacity(batch)
    while written < count {
        let n = min(batch, count - written)
        entries.removeAll(keepingCapacity: true)
        for i in written..<(written + n) {
            let record = Hex.encode(randomPublicBytes(16))
            entries.append(AuditEntry(
                actor: .operator("bench:auditor"), action: i % 10 == 0 ? .put : .get, outcome: .ok, school: "school-\(i % 7)",
                child: "child-\(i % 1000)", concern: "concern-\(i % 50)", record: record,
                reason: i % 10 == 0 ? "kind minutes, application/pdf, 204800 bytes" : nil))
        }
        written += n
        // Every batch signed, as the vault does: an unsigned put or get reads as a rewrite.
        _ = try catalog.append(entries, signer: signer)
    }
    let seconds = monotonic() - start
    print("events=\(written) seconds=\(String(format: "%.3f", seconds)) peak_rss_kib=\(peakRSSKiB())")
}

func putMany(store: String, list: String, idsPath: String, threads: Int) throws {
    let start = monotonic()
    let vault = try openVault(store)
    let paths = try lines(of: list)
    final class Results: @unchecked Sendable {
        var ids: [String]
        var bytes: [Int64]
        init(_ n: Int) { ids = Array(repeating: "", count: n); bytes = Array(repeating: 0, count: n) }
    }
    let results = Results(paths.count)
    try parallel(paths.count, threads: threads) { i in
        let path = paths[i]
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BenchFailure(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let record = try vault.records.put(from: fd, PutRequest(
            school: "bench-school", child: "child-\(i % 100)", concern: "concern-\(i % 10)", kind: "minutes",
            filename: (path as NSString).lastPathComponent, declaredType: nil), by: .operator("bench:putter"))
        // Each index is written by exactly one thread.
        results.ids[i] = record.id
        results.bytes[i] = record.size
    }
    let seconds = monotonic() - start
    try (results.ids.joined(separator: "\n") + "\n").write(toFile: idsPath, atomically: false, encoding: .utf8)
    print("files=\(paths.count) bytes=\(results.bytes.reduce(0, +)) seconds=\(String(format: "%.3f", seconds)) peak_rss_kib=\(peakRSSKiB())")
}

func getMany(store: String, idsPath: String, outDir: String, threads: Int) throws {
    let start = monotonic()
    let vault = try openVault(store)
    let ids = try lines(of: idsPath)
    final class Totals: @unchecked Sendable {
        var bytes: [Int64]
        init(_ n: Int) { bytes = Array(repeating: 0, count: n) }
    }
    let totals = Totals(ids.count)
    try parallel(ids.count, threads: threads) { i in
        let out = outDir + "/" + String(format: "%06d", i)
        let fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BenchFailure(description: "cannot create \(out): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let record = try vault.records.get(id: ids[i], by: .operator("bench:getter")) { chunk in
            var offset = 0
            while offset < chunk.count {
                let n = write(fd, chunk.baseAddress! + offset, chunk.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw BenchFailure(description: "write \(out): \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
        totals.bytes[i] = record.size
    }
    let seconds = monotonic() - start
    print("files=\(ids.count) bytes=\(totals.bytes.reduce(0, +)) seconds=\(String(format: "%.3f", seconds)) peak_rss_kib=\(peakRSSKiB())")
}

func seedRecords(store: String, count: Int, schools: Int, blobKiB: Int, idsPath: String) throws {
    guard (0...65536).contains(blobKiB) else { throw BenchFailure(description: "BLOB_KIB must be 0 to 65536") }
    let blobs = blobKiB > 0
    let start = monotonic()
    let vault = try openVault(store)
    let keys = try KeyStore.open(directory: store + "/keys", master: try MasterKeyFile.open(at: store + "/keys/master.key"))
    vault.close()
    let db = try DatabaseQueue(path: store + "/" + SQLiteCatalog.fileName)
    let dek = try SecretBytes(count: DataKey.bytes)
    let placeholder = randomPublicBytes(max(1, blobKiB) * 1024)
    let placeholderHash = Hex.encode(Blake2b.hash(placeholder))
    var ids: [String] = []
    ids.reserveCapacity(count)
    let base = Date().timeIntervalSince1970
    var written = 0
    while written < count {
        let n = min(50_000, count - written)
        var batch: [EvidenceRecord] = []
        batch.reserveCapacity(n)
        for i in written..<(written + n) {
            let id = RecordID.generate()
            let school = "school-\(i % schools)"
            // Review dates spread over 300 months from 2026-01: one KEK per school and month.
            let month = i % 300
            let review = String(format: "%04d-%02d-%02d", 2026 + month / 12, month % 12 + 1, 1 + i % 28)
            let (kekID, kek) = try keys.kek(school: school, period: String(review.prefix(7)))
            let fresh = randomPublicBytes(DataKey.bytes)
            dek.withUnsafeMutableBytes { $0.copyBytes(from: fresh) }
            let wrapped = try KeyWrap.wrapDataKey(dek, under: kek, binding: DataKeyBinding(
                schoolID: school, recordID: id, formatVersion: UInt64(EvidenceRecord.formatVersion), kekID: kekID))
            batch.append(EvidenceRecord(
                id: id, school: school, child: "child-\(i % 20_000)", concern: "concern-\(i % 5_000)", kind: "minutes",
                filename: "minutes.pdf", declaredType: "application/pdf", sniffedType: "application/pdf", size: 204_800,
                sha256: Hex.encode(randomPublicBytes(32)), ciphertextBlake2b: blobs ? placeholderHash : Hex.encode(randomPublicBytes(32)),
                ciphertextSize: blobs ? Int64(placeholder.count) : 205_000, createdAtMillis: Int64((base - Double(count - i)) * 1000), createdBy: "bench:seeder",
                kekID: kekID, wrappedDEK: Data(wrapped), category: "child-protection", reviewOn: review))
            ids.append(id)
        }
        try db.write { db in for record in batch { try record.insert(db) } }
        if blobs {
            for record in batch {
                let dir = store + "/blobs/" + record.id.prefix(2)
                mkdir(dir, 0o700)
                guard FileManager.default.createFile(atPath: dir + "/" + record.id + ".blob", contents: Data(placeholder)) else {
                    throw BenchFailure(description: "cannot write a blob under \(dir)")
                }
            }
        }
        written += n
    }
    try db.close()
    try (ids.joined(separator: "\n") + "\n").write(toFile: idsPath, atomically: false, encoding: .utf8)
    print("records=\(written) seconds=\(String(format: "%.3f", monotonic() - start)) peak_rss_kib=\(peakRSSKiB())")
}

let usage = """
    usage: strongroom-bench audit-events STORE N [BATCH]
           strongroom-bench put-many STORE LIST IDS [THREADS]
           strongroom-bench get-many STORE IDS OUTDIR [THREADS]
           strongroom-bench seed-records STORE N SCHOOLS BLOB_KIB IDS
    """

func positive(_ text: String?, default value: Int) throws -> Int {
    guard let text else { return value }
    guard let n = Int(text), n > 0 else { throw BenchFailure(description: "not a positive number: \(text)") }
    return n
}

let args = CommandLine.arguments
do {
    switch (args.count > 1 ? args[1] : "", args.count) {
    case ("audit-events", 4...5):
        try auditEvents(store: args[2], count: try positive(args[3], default: 0), batch: try positive(args.count > 4 ? args[4] : nil, default: 10_000))
    case ("put-many", 5...6):
        try putMany(store: args[2], list: args[3], idsPath: args[4], threads: try positive(args.count > 5 ? args[5] : nil, default: 1))
    case ("get-many", 5...6):
        try getMany(store: args[2], idsPath: args[3], outDir: args[4], threads: try positive(args.count > 5 ? args[5] : nil, default: 1))
    case ("seed-records", 7):
        try seedRecords(store: args[2], count: try positive(args[3], default: 0), schools: try positive(args[4], default: 1),
                        blobKiB: Int(args[5]) ?? -1, idsPath: args[6])
    default:
        FileHandle.standardError.write(Data((usage + "\n").utf8))
        exit(64)
    }
} catch {
    FileHandle.standardError.write(Data("strongroom-bench: \(error)\n".utf8))
    exit(1)
}
