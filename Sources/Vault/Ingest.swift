import Foundation
import KeyManagement
import Storage

/// What a put stores besides the bytes.
public struct PutRequest: Sendable {
    public var school: String
    public var child: String
    public var concern: String
    public var kind: String
    public var filename: String
    public var declaredType: String?
    /// Who uploads (set from the caller by `beginPut`).
    var actor: AuditActor = .anonymous
    /// The uploading user's account id (set by `beginPut`; nil for an operator's put).
    var account: String?
    /// Refuse (and keep nothing of) a file larger than this.
    public var maxBytes: Int64?
    /// The retention category (`RetentionPolicy.table`).
    public var category: String = RetentionPolicy.defaultCategory
    /// A redacted PDF made of this record (an office document that cannot be redacted in place);
    /// bundles share it in place of the original. Same school and child.
    public var derivedFrom: String?
    /// Where the record came from, said in its put event (a transfer from another school).
    var provenance: String?
    /// The record arrives under a legal hold (a transfer): its data key goes under the hold KEK.
    var heldOnArrival = false
    /// The child's date of birth that retention follows, when it is committed with the record
    /// (a transfer for a child new to the school) rather than already stored.
    var dateOfBirth: String?
    /// The original this record is a redacted copy of, staged in the same transfer (so not yet
    /// a live record that `derivedFrom` could be checked against).
    var stagedOriginal: String?

    public init(
        school: String, child: String, concern: String, kind: String, filename: String, declaredType: String? = nil,
        maxBytes: Int64? = nil
    ) {
        self.school = school
        self.child = child
        self.concern = concern
        self.kind = kind
        self.filename = filename
        self.declaredType = declaredType
        self.maxBytes = maxBytes
    }
}

extension Vault {
    /// Starts a put whose caller `beginPut` has checked.
    func startPut(_ request: PutRequest) throws -> IngestSession {
        let keys = try requireKeys("put")
        do {
            try OpaqueID.validate(request.school, field: "school id")
            try OpaqueID.validate(request.child, field: "child id")
            try OpaqueID.validate(request.concern, field: "concern id")
            guard TypePolicy.allowed[request.kind] != nil else {
                throw VaultError.unknownKind(request.kind, known: TypePolicy.kinds)
            }
            guard RetentionPolicy.rule(kind: request.kind, category: request.category) != nil else {
                throw VaultError.invalidArgument(
                    "unknown retention category; categories are \(RetentionPolicy.categories.joined(separator: ", "))")
            }
            if let original = request.derivedFrom {
                guard RecordID.isValid(original), let record = try liveRecord(id: original),
                      record.school == request.school, record.child == request.child else {
                    throw VaultError.invalidArgument("derivedFrom must name a record of the same school and child")
                }
            }
        } catch {
            let wrapped = VaultError.wrap(error)
            // The invalid value is not logged: it may be a name typed where an id belongs.
            try audit(AuditEntry(
                actor: request.actor, action: .put, outcome: .refused,
                school: OpaqueID.isValid(request.school) ? request.school : nil, reason: "\(wrapped)"))
            throw wrapped
        }
        return try IngestSession(vault: self, keys: keys, request: request)
    }

    func put(from fd: Int32, _ request: PutRequest, by caller: Caller, progress: ((Int64) -> Void)? = nil) throws -> EvidenceRecord {
        let session = try beginPut(request, by: caller)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: BlobFormat.chunkSize, alignment: 16)
        defer {
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            buffer.deallocate()
        }
        var total: Int64 = 0
        do {
            while true {
                let n = read(fd, buffer.baseAddress, buffer.count)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw VaultError.storage(.io(operation: "read", path: request.filename, errno: errno))
                }
                if n == 0 { break }
                try session.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                total += Int64(n)
                if total & 0x3f_ffff < Int64(n) { progress?(total) }
            }
            return try session.finish()
        } catch {
            session.abort()
            throw error
        }
    }

    /// Keeps the last path component; drops control characters, path separators and invisible
    /// format characters (bidirectional overrides, zero-width characters: they make `x\u{202E}fdp.hta`
    /// look like `xath.pdf`); trims spaces and dots at the ends (Windows drops trailing ones, so
    /// `report.pdf.` would open as a PDF); caps the length at 255 bytes, cutting the stem, not the
    /// extension. The name is stored as data and never used as a path.
    public static func sanitiseFilename(_ name: String) -> String {
        let last = name.split(separator: "/").last.map(String.init) ?? ""
        var out = String.UnicodeScalarView()
        for scalar in last.unicodeScalars where !LogText.needsEscape(scalar) && !isInvisible(scalar) {
            out.append(scalar)
        }
        let ends = CharacterSet.whitespaces.union(CharacterSet(charactersIn: "."))
        var clean = String(out).trimmingCharacters(in: ends)
        if clean.utf8.count > 255 {
            var (stem, ext) = splitExtension(clean)
            if ext.utf8.count > 32 { (stem, ext) = (clean, "") }
            let room = 255 - ext.utf8.count
            var cut = ""
            for character in stem {
                if cut.utf8.count + String(character).utf8.count > room { break }
                cut.append(character)
            }
            // A cut can end in a dot or a space, or leave nothing of the stem.
            cut = cut.trimmingCharacters(in: ends)
            clean = (cut.isEmpty ? "unnamed" : cut) + ext
        }
        return clean.isEmpty ? "unnamed" : clean
    }

    /// Characters that show as nothing: format characters (bidirectional overrides, zero-width
    /// joiners, soft hyphens) and the blank letters and symbols some scripts have.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.properties.generalCategory == .format { return true }
        switch scalar.value {
        case 0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B...0x180F, 0x2800, 0x3164, 0xFE00...0xFE0F, 0xFFA0, 0xE0100...0xE01EF:
            return true
        default:
            return false
        }
    }

    /// The name a record is stored and served under: the sanitised name, which must end in an
    /// extension of the content's format. A name whose extension claims another format we know
    /// was refused already (`TypePolicy.check`); any other name (no extension, or one we do not
    /// know, such as `.hta` or `.html`) gets the format's own extension added, so whoever saves
    /// the file opens it as what it is.
    static func storedFilename(_ sanitised: String, type: EvidenceType) -> String {
        if TypePolicy.claimedType(filename: sanitised) == type { return sanitised }
        let ext = "." + type.extensions[0]
        var stem = sanitised
        while stem.utf8.count + ext.utf8.count > 255 { stem.removeLast() }
        return stem + ext
    }

    /// `name` split before its last dot (the dot goes with the extension); no extension: ("name", "").
    static func splitExtension(_ name: String) -> (stem: String, ext: String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
        return (String(name[..<dot]), String(name[dot...]))
    }
}

extension EvidenceRecord {
    /// The name a download or a bundle gives the record: its stored name, with the content's
    /// own extension added if the name lacks one (records stored before names got one).
    public var servedFilename: String {
        guard let type = EvidenceType(mime: sniffedType) else { return filename }
        return Vault.storedFilename(Vault.sanitiseFilename(filename), type: type)
    }
}

/// One put in progress: read → sniff → hash + encrypt + write → commit row, key and audit event.
/// Nothing is written to disk until the first 64 KiB have been sniffed and accepted; a refused
/// or aborted put leaves no file and no row.
public final class IngestSession {
    let vault: Vault
    let keys: KeyStore
    let request: PutRequest
    let recordID = RecordID.generate()
    /// The name as it will be stored: what the extension check looks at.
    let filename: String
    private var lock: StoreLock?
    private var sniffBuffer: [UInt8] = []
    private var state: State = .sniffing
    private var plaintextHash = SHA256Hasher()
    private var total: Int64 = 0
    private var dataKey: SecretBytes?
    private var upload: BlobUpload?
    private var writer: BlobWriter?
    private var sniffedType: EvidenceType?
    /// Text is scanned for markup, and PDFs and office documents for active content, to the
    /// last byte, not only in the sniffed prefix: this carries on where `TypePolicy.check` left off.
    private var inspection: ContentInspection?
    private var sniffedMIME = ""

    enum State { case sniffing, streaming, done }

    init(vault: Vault, keys: KeyStore, request: PutRequest) throws {
        self.vault = vault
        self.keys = keys
        self.request = request
        self.filename = Vault.sanitiseFilename(request.filename)
        self.lock = try vault.storeLock(exclusive: false, wait: true)
        sniffBuffer.reserveCapacity(MagicSniffer.sniffBytes)
    }

    deinit { abort() }

    /// Refuses (audited, nothing stored) a body announced larger than the request's limit,
    /// before any of it is read.
    public func expectLength(_ length: Int64) throws {
        if let limit = request.maxBytes, length > limit {
            let error = refusal(.tooLarge(limit: limit))
            abort()
            throw error
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(state != .done, "write after finish or abort")
        do {
            total += Int64(bytes.count)
            if let limit = request.maxBytes, total > limit { throw refusal(.tooLarge(limit: limit)) }
            plaintextHash.update(bytes)
            switch state {
            case .sniffing:
                let room = MagicSniffer.sniffBytes - sniffBuffer.count
                sniffBuffer.append(contentsOf: bytes.prefix(room))
                if sniffBuffer.count == MagicSniffer.sniffBytes {
                    try startStreaming(wholeFile: false)
                    if bytes.count > room {
                        let rest = UnsafeRawBufferPointer(rebasing: bytes[room...])
                        try inspect(rest)
                        try vaulting { try writer!.write(rest) }
                    }
                }
            case .streaming:
                try inspect(bytes)
                try vaulting { try writer!.write(bytes) }
            case .done:
                break
            }
        } catch {
            abort()
            throw error
        }
    }

    /// Commits the record; returns it only once blob, row, wrapped key and audit event are durable.
    public func finish() throws -> EvidenceRecord {
        try complete(commit: true).record
    }

    /// Writes the blob and wraps the data key, but leaves the row and its put event to the
    /// caller, who commits several records in one transaction (a received transfer) and deletes
    /// the blob if that fails.
    func stage() throws -> (record: EvidenceRecord, event: AuditEntry) {
        try complete(commit: false)
    }

    private func complete(commit: Bool) throws -> (record: EvidenceRecord, event: AuditEntry) {
        precondition(state != .done, "finish after finish or abort")
        do {
            if total == 0 { throw refusal(.empty) }
            if state == .sniffing {
                try startStreaming(wholeFile: true)
            } else if let reason = inspection?.finish() {
                throw refusal(reason, found: inspection?.found)
            }
            let staged = try vaulting { () throws -> (record: EvidenceRecord, event: AuditEntry) in
                let ciphertextHash = try writer!.finish()
                try upload!.commit()
                CrashPoint.hit("blob-committed")
                let createdAt = vault.nowMillis
                var (reviewOn, held) = try vault.placement(of: request, createdAt: Date(timeIntervalSince1970: Double(createdAt) / 1000))
                held = held || request.heldOnArrival
                var record = EvidenceRecord(
                    id: recordID, school: request.school, child: request.child, concern: request.concern, kind: request.kind,
                    filename: sniffedType.map { Vault.storedFilename(filename, type: $0) } ?? filename, declaredType: request.declaredType.map(TypePolicy.normalise),
                    sniffedType: sniffedMIME, size: total, sha256: Hex.encode(plaintextHash.finalize()),
                    ciphertextBlake2b: Hex.encode(ciphertextHash), ciphertextSize: Int64(writer!.ciphertextSize),
                    createdAtMillis: createdAt, createdBy: request.actor.description, kekID: "", wrappedDEK: Data(),
                    category: request.category, reviewOn: reviewOn, derivedFrom: request.derivedFrom ?? request.stagedOriginal,
                    createdByAccount: request.account)
                let derived = (request.derivedFrom ?? request.stagedOriginal).map { ", a redacted copy of \($0)" } ?? ""
                let event = AuditEntry(
                    actor: request.actor, action: .put, outcome: .ok, school: request.school, child: request.child,
                    concern: request.concern, record: recordID, reason: "kind \(request.kind), \(sniffedMIME), \(total) bytes, sha256 \(record.sha256)\(derived)\(request.provenance.map { ", \($0)" } ?? "")")
                do {
                    // Two tries: if another process destroyed the period's KEK between our lookup
                    // and our commit, finish that destruction here and wrap under a fresh KEK.
                    for attempt in 1...2 {
                        let (kekID, kek) = try keys.kek(school: request.school, period: Vault.kekPeriod(reviewOn: reviewOn, held: held))
                        let binding = DataKeyBinding(
                            schoolID: request.school, recordID: recordID, formatVersion: UInt64(EvidenceRecord.formatVersion), kekID: kekID)
                        record.kekID = kekID
                        record.wrappedDEK = Data(try KeyWrap.wrapDataKey(dataKey!, under: kek, binding: binding))
                        try vault.auditCreatedKEKs(keys, actor: request.actor)
                        guard commit else { break }
                        do {
                            _ = try vault.timedAudit { try vault.catalog.commitRecord(record, event: event, signer: try keys.auditSigner()) }
                            break
                        } catch StorageError.kekDestroyed(let id) where attempt == 1 {
                            try keys.destroy(ids: [id])
                        }
                    }
                } catch {
                    // The row never committed: remove the blob so nothing of this put remains. If
                    // the database stopped answering during the commit, the row may have committed
                    // after all: the blob stays, and gc removes it if nothing names it.
                    if !VaultError.mayHaveCommitted(error) { try? vault.blobs.delete(recordID: recordID) }
                    throw error
                }
                if commit { CrashPoint.hit("record-committed") }
                return (record, event)
            }
            state = .done
            release()
            return staged
        } catch {
            abort()
            throw error
        }
    }

    /// Abandons the put: removes the temp blob, zeroes buffers and the data key.
    public func abort() {
        guard state != .done else { return }
        state = .done
        upload?.abort()
        release()
    }

    private func release() {
        for i in sniffBuffer.indices { sniffBuffer[i] = 0 }
        sniffBuffer = []
        inspection = nil
        writer = nil
        upload = nil
        dataKey = nil
        lock = nil
    }

    private func refusal(_ reason: Refusal.Reason, found: String? = nil) -> Error {
        let allowed = (TypePolicy.allowed[request.kind] ?? []).map(\.displayName)
        let refusal = Refusal(
            reason: reason, kind: request.kind, declared: request.declaredType.map(TypePolicy.printableDeclared),
            found: found ?? (sniffedMIME.isEmpty ? "nothing" : sniffedMIME),
            allowed: allowed)
        return recordRefusal(VaultError.refused(refusal))
    }

    /// Writes the refusal's audit event; if even that fails, the audit failure is what is reported.
    private func recordRefusal(_ error: VaultError) -> Error {
        do {
            try vault.audit(AuditEntry(
                actor: request.actor, action: .put, outcome: .refused, school: request.school, child: request.child,
                concern: request.concern, reason: "\(error)"))
            return error
        } catch let auditFailure {
            return VaultError.wrap(auditFailure)
        }
    }

    /// Sniffs and checks the first bytes (all of them when `wholeFile`); once they pass, opens the blob.
    private func startStreaming(wholeFile: Bool) throws {
        let mime = try sniffBuffer.withUnsafeBytes { prefix in try vault.withSniffer { try $0.mimeType(of: prefix) } }
        sniffedMIME = TypePolicy.normalise(mime)
        do {
            let accepted = try sniffBuffer.withUnsafeBytes { prefix in
                try TypePolicy.check(
                    kind: request.kind, sniffedMIME: mime, declaredMIME: request.declaredType, filename: filename,
                    prefix: prefix, prefixIsWholeFile: wholeFile)
            }
            sniffedType = accepted.type
            sniffedMIME = accepted.mime
            inspection = accepted.inspection
        } catch let error as VaultError {
            throw recordRefusal(error)
        }
        if request.derivedFrom != nil, sniffedType != .pdf {
            throw recordRefusal(VaultError.invalidArgument(
                "a redacted copy (derivedFrom) must be a PDF; this is \(sniffedType?.displayName ?? sniffedMIME)"))
        }
        try vaulting {
            let key = try DataKey.generate()
            let upload = try vault.blobs.beginWrite(recordID: recordID)
            self.upload = upload
            self.dataKey = key
            let writer = try BlobWriter(schoolID: request.school, recordID: recordID, dataKey: key, sink: upload)
            self.writer = writer
            try writer.write(sniffBuffer)
            CrashPoint.hit("blob-started")
        }
        for i in sniffBuffer.indices { sniffBuffer[i] = 0 }
        sniffBuffer = []
        state = .streaming
    }

    /// Refuses a file in which markup or active content turns up after the sniffed prefix.
    private func inspect(_ bytes: UnsafeRawBufferPointer) throws {
        guard inspection != nil else { return }
        if let reason = inspection!.scan(bytes) { throw refusal(reason, found: inspection!.found) }
    }
}
