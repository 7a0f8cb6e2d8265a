import KeyManagement

/// Checks an audit log end to end (docs/audit.md): every event's hash against its content, the
/// chain of previous hashes, sequence numbers, the Merkle tree head, every stored checkpoint's
/// signature and root, an optional checkpoint kept outside the store, and that every record has
/// its put event. Problems are classified (edited, deleted, inserted, reordered, truncated) and
/// the first bad sequence number is reported.
public struct AuditVerifier {
    public let vaultID: String
    public let publicKey: VaultPublicKey

    public init(vaultID: String, publicKey: VaultPublicKey) {
        self.vaultID = vaultID
        self.publicKey = publicKey
    }

    /// A tree size and root vouched for by something other than the vault's key (a backup
    /// manifest, signed by the backup operator): the log's first `size` events must have `root`.
    public struct Anchor: Sendable {
        public var size: Int
        public var root: [UInt8]
        public var source: String
        public init(size: Int, root: [UInt8], source: String) {
            self.size = size
            self.root = root
            self.source = source
        }
    }

    /// `witness`: the checkpoints of a witness kept outside the store (docs/audit.md), checked
    /// like an external checkpoint each.
    public func verify(_ catalog: Catalog, externalCheckpoint: Checkpoint? = nil, anchor: Anchor? = nil, witness: [Checkpoint] = []) throws -> AuditReport {
        var report = AuditReport()
        try catalog.auditSnapshot { snapshot in
            report = try verify(snapshot, externalCheckpoint: externalCheckpoint, anchor: anchor, witness: witness)
        }
        return report
    }

    func verify(_ snapshot: AuditSnapshot, externalCheckpoint: Checkpoint?, anchor: Anchor? = nil, witness: [Checkpoint] = []) throws -> AuditReport {
        var report = AuditReport()
        var checkpoints = snapshot.checkpoints.map { ($0, "stored checkpoint") }
        if let externalCheckpoint { checkpoints.append((externalCheckpoint, "external checkpoint")) }
        checkpoints += witness.map { ($0, "witness's checkpoint") }
        for (checkpoint, source) in checkpoints {
            if checkpoint.vaultID != vaultID {
                report.add(.forgedCheckpoint, at: nil, "\(source) at size \(checkpoint.treeSize) is for another vault")
            } else if !checkpoint.verifySignature(publicKey: publicKey) {
                report.add(.forgedCheckpoint, at: nil, "\(source) at size \(checkpoint.treeSize) has a bad signature")
            }
        }
        let wanted = Dictionary(grouping: checkpoints.filter { $0.0.vaultID == vaultID }, by: { $0.0.treeSize })

        var frontier = TreeFrontier()
        var expectedPrevious = AuditEvent.genesisHash(vaultID: vaultID)
        var expectedSequence: Int64 = 1

        func check(_ current: AuditLink, twoBefore: AuditLink?, before: AuditLink?, after: AuditLink?) {
            let content = current.contentHash
            if content != current.hash {
                report.add(.edited, at: current.sequence, "event \(current.sequence)'s content does not match its hash")
            }
            if current.sequence != expectedSequence {
                if current.sequence > expectedSequence {
                    let missing = expectedSequence == current.sequence - 1 ? "\(expectedSequence)" : "\(expectedSequence)-\(current.sequence - 1)"
                    report.add(.deleted, at: expectedSequence, "event(s) \(missing) are missing")
                } else {
                    report.add(.inserted, at: current.sequence, "event \(current.sequence) is out of sequence")
                }
            } else if current.previousHash != expectedPrevious {
                if let twoBefore, let before, current.previousHash == twoBefore.hash {
                    report.add(.inserted, at: before.sequence, "event \(before.sequence) was inserted: the event after it links past it")
                } else if let after, current.previousHash == after.hash {
                    report.add(.reordered, at: current.sequence, "event \(current.sequence) links to the event after it: events were reordered")
                } else if let before {
                    report.add(.edited, at: before.sequence,
                               "event \(before.sequence) was edited and its hash recomputed: event \(current.sequence) still links to the original")
                } else {
                    report.add(.edited, at: current.sequence, "event \(current.sequence) does not link to the start of this vault's log")
                }
            }
            expectedSequence = current.sequence + 1
            expectedPrevious = current.hash
            frontier.append(content)
            report.eventCount += 1
            if let anchor, anchor.size == frontier.size, anchor.root != frontier.root {
                report.add(.rewritten, at: nil,
                           "the log's first \(anchor.size) events do not match the \(anchor.source): events up to \(anchor.size) were altered, deleted or inserted")
            }
            if let matches = wanted[frontier.size] {
                let root = frontier.root
                for (checkpoint, source) in matches where checkpoint.root != root {
                    report.add(.rewritten, at: nil,
                               "the log's first \(checkpoint.treeSize) events do not match the \(source) signed at that size: events up to \(checkpoint.treeSize) were altered, deleted or inserted")
                }
            }
        }

        // A window of four consecutive events: two before the one checked, and one after it.
        var window: [AuditLink] = []
        window.reserveCapacity(4)
        func checkAt(_ i: Int, hasAfter: Bool) {
            check(window[i], twoBefore: i >= 2 ? window[i - 2] : nil, before: i >= 1 ? window[i - 1] : nil,
                  after: hasAfter ? window[i + 1] : nil)
        }
        try snapshot.forEachLink { link in
            window.append(link)
            if window.count >= 2 { checkAt(window.count - 2, hasAfter: true) }
            if window.count == 4 { window.removeFirst() }
        }
        if !window.isEmpty { checkAt(window.count - 1, hasAfter: false) }
        let signedSize = checkpoints.filter { $0.0.vaultID == vaultID }.map(\.0.treeSize).max() ?? 0
        report.unsignedTail = max(0, report.eventCount - signedSize)
        // A process with the key signs what it appends in the same transaction: an event only
        // such a process writes, outside every checkpoint, was written by someone without it.
        if let keyed = try snapshot.keyedEvents(after: signedSize).first {
            report.add(.rewritten, at: keyed.sequence,
                       "event \(keyed.sequence) (\(keyed.action)) can only be written with the vault key, yet no signed checkpoint covers it: the log after event \(signedSize) was rewritten, or its checkpoints deleted")
        }

        let size = report.eventCount
        if !snapshot.beginsWithInit {
            report.add(.deleted, at: 1, "the log does not begin with the vault's signed init event: it was emptied or replaced")
        }
        for (checkpoint, source) in checkpoints where checkpoint.vaultID == vaultID && checkpoint.treeSize > size {
            report.add(.truncated, at: Int64(size + 1),
                       "the \(source) was signed at \(checkpoint.treeSize) events but the log has \(size): the tail was deleted")
        }
        if let anchor, anchor.size > size {
            report.add(.truncated, at: Int64(size + 1), "the \(anchor.source) records \(anchor.size) events but the log has \(size): the tail was deleted")
        }
        if let head = snapshot.head {
            if head.size > size {
                report.add(.truncated, at: Int64(size + 1), "the tree head records \(head.size) events but the log has \(size): the tail was deleted")
            } else if head.size < size {
                report.add(.inserted, at: Int64(head.size + 1), "the log has \(size) events but the tree head records \(head.size)")
            } else if head.frontier?.root != frontier.root || head.lastHash != expectedPrevious {
                report.add(.rewritten, at: nil, "the tree head does not match the events")
            }
        } else {
            report.add(.truncated, at: 1, "the audit tree head is missing")
        }
        for record in snapshot.recordsWithoutPutEvent {
            report.add(.deleted, at: nil, "record \(record) has no put event: audit events were deleted")
        }
        report.rootHash = Hex.encode(frontier.root)
        return report
    }
}

public struct AuditReport: Sendable {
    public enum Kind: String, Sendable { case edited, deleted, inserted, reordered, truncated, rewritten, forgedCheckpoint = "forged-checkpoint" }
    public struct Problem: Sendable {
        public var kind: Kind
        public var sequence: Int64?
        public var detail: String
    }
    public var eventCount = 0
    /// Events after the newest checkpoint: chained, but not yet covered by a signature.
    public var unsignedTail = 0
    public var rootHash = ""
    public var problems: [Problem] = []

    public var isIntact: Bool { problems.isEmpty }
    public var firstBadSequence: Int64? { problems.compactMap(\.sequence).min() }

    public mutating func add(_ kind: Kind, at sequence: Int64?, _ detail: String) {
        problems.append(Problem(kind: kind, sequence: sequence, detail: detail))
    }
}
