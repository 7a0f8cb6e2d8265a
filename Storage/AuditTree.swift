import KeyManagement

/// The audit log's Merkle tree, exactly as RFC 9162 (Certificate Transparency 2.0) §2.1 defines
/// it: leaf hash SHA-256(0x00 ‖ leaf), interior node SHA-256(0x01 ‖ left ‖ right), the tree over
/// n leaves split at the largest power of two below n. Inclusion and consistency proofs and
/// their verification follow §2.1.3 and §2.1.4.
public enum AuditTree {
    public static func leafHash(_ data: [UInt8]) -> [UInt8] { SHA256Hasher.hash([0x00] + data) }

    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var h = SHA256Hasher()
        h.update([0x01])
        h.update(left)
        h.update(right)
        return h.finalize()
    }

    public static let emptyRoot: [UInt8] = SHA256Hasher.hash([])

    /// MTH(D[n]) from leaf hashes.
    public static func root(_ leaves: ArraySlice<[UInt8]>) -> [UInt8] {
        switch leaves.count {
        case 0: return emptyRoot
        case 1: return leaves.first!
        default:
            let k = largestPowerOfTwo(below: leaves.count)
            let mid = leaves.startIndex + k
            return nodeHash(root(leaves[leaves.startIndex..<mid]), root(leaves[mid...]))
        }
    }

    static func largestPowerOfTwo(below n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    /// PATH(m, D[n]): the inclusion proof of leaf `index`.
    public static func inclusionProof(index: Int, leaves: ArraySlice<[UInt8]>) -> [[UInt8]] {
        precondition(index >= 0 && index < leaves.count)
        if leaves.count <= 1 { return [] }
        let k = largestPowerOfTwo(below: leaves.count)
        let mid = leaves.startIndex + k
        if index < k {
            return inclusionProof(index: index, leaves: leaves[leaves.startIndex..<mid]) + [root(leaves[mid...])]
        }
        return inclusionProof(index: index - k, leaves: leaves[mid...]) + [root(leaves[leaves.startIndex..<mid])]
    }

    /// PROOF(m, D[n]): the consistency proof between the tree of the first `oldSize` leaves and this one.
    public static func consistencyProof(oldSize: Int, leaves: ArraySlice<[UInt8]>) -> [[UInt8]] {
        precondition(oldSize >= 0 && oldSize <= leaves.count)
        if oldSize == 0 || oldSize == leaves.count { return [] }
        return subproof(oldSize, leaves, true)
    }

    private static func subproof(_ m: Int, _ leaves: ArraySlice<[UInt8]>, _ complete: Bool) -> [[UInt8]] {
        let n = leaves.count
        if m == n { return complete ? [] : [root(leaves)] }
        let k = largestPowerOfTwo(below: n)
        let mid = leaves.startIndex + k
        if m <= k { return subproof(m, leaves[leaves.startIndex..<mid], complete) + [root(leaves[mid...])] }
        return subproof(m - k, leaves[mid...], false) + [root(leaves[leaves.startIndex..<mid])]
    }

    /// RFC 9162 §2.1.3.2.
    public static func verifyInclusion(leafHash: [UInt8], index: Int, treeSize: Int, proof: [[UInt8]], root: [UInt8]) -> Bool {
        guard index >= 0, index < treeSize else { return false }
        var fn = index, sn = treeSize - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    repeat { fn >>= 1; sn >>= 1 } while fn & 1 == 0 && fn != 0
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1; sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// RFC 9162 §2.1.4.2.
    public static func verifyConsistency(
        oldSize: Int, newSize: Int, oldRoot: [UInt8], newRoot: [UInt8], proof: [[UInt8]]
    ) -> Bool {
        guard oldSize >= 0, oldSize <= newSize else { return false }
        if oldSize == 0 { return proof.isEmpty }
        if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
        var path = proof
        if oldSize & (oldSize - 1) == 0 { path.insert(oldRoot, at: 0) }
        guard !path.isEmpty else { return false }
        var fn = oldSize - 1, sn = newSize - 1
        while fn & 1 == 1 { fn >>= 1; sn >>= 1 }
        var fr = path[0], sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    repeat { fn >>= 1; sn >>= 1 } while fn & 1 == 0 && fn != 0
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1; sn >>= 1
        }
        return fr == oldRoot && sr == newRoot && sn == 0
    }
}

/// The right edge of the tree: the roots of its perfect subtrees, largest first. Appending is
/// O(log n) and so is the root, which lets every append update the tree head in the same
/// transaction as the event, and lets verify compute the root at every checkpoint in one pass.
public struct TreeFrontier: Sendable, Equatable {
    public private(set) var size: Int = 0
    private var hashes: [[UInt8]] = []

    public init() {}

    public mutating func append(_ leafHash: [UInt8]) {
        hashes.append(leafHash)
        size += 1
        // Each 1 bit of `size` is one perfect subtree; merge while the lowest bits carry.
        var carry = size
        while carry & 1 == 0 {
            let right = hashes.removeLast()
            let left = hashes.removeLast()
            hashes.append(AuditTree.nodeHash(left, right))
            carry >>= 1
        }
    }

    public var root: [UInt8] {
        guard var r = hashes.last else { return AuditTree.emptyRoot }
        for h in hashes.dropLast().reversed() { r = AuditTree.nodeHash(h, r) }
        return r
    }

    /// size (8 bytes big-endian) followed by the subtree hashes.
    public var serialized: [UInt8] {
        (0..<8).reversed().map { UInt8(truncatingIfNeeded: UInt64(size) >> (UInt64($0) * 8)) } + hashes.flatMap { $0 }
    }

    public init?(serialized bytes: [UInt8]) {
        guard bytes.count >= 8, (bytes.count - 8) % 32 == 0 else { return nil }
        let size = bytes[0..<8].reduce(0) { $0 << 8 | Int($1) }
        let count = (bytes.count - 8) / 32
        guard size >= 0, count == size.nonzeroBitCount else { return nil }
        self.size = size
        self.hashes = (0..<count).map { Array(bytes[8 + $0 * 32..<8 + ($0 + 1) * 32]) }
    }
}

/// Every level of the tree over a set of leaves, built once (2n hashes), so that many inclusion
/// proofs cost O(log n) each: a transfer proves each of a child's records against one checkpoint.
/// A level's odd last node is carried up unhashed, which yields exactly RFC 9162's tree.
public struct InclusionProver: Sendable {
    private var levels: [[[UInt8]]]

    public init(leaves: [[UInt8]]) {
        levels = [leaves]
        while let last = levels.last, last.count > 1 {
            var next: [[UInt8]] = []
            next.reserveCapacity((last.count + 1) / 2)
            var i = 0
            while i + 1 < last.count {
                next.append(AuditTree.nodeHash(last[i], last[i + 1]))
                i += 2
            }
            if i < last.count { next.append(last[i]) }
            levels.append(next)
        }
    }

    public var size: Int { levels[0].count }
    public var root: [UInt8] { levels.last?.first ?? AuditTree.emptyRoot }

    /// PATH(index, D[size]), as `AuditTree.inclusionProof` gives it.
    public func proof(index: Int) -> [[UInt8]] {
        precondition(index >= 0 && index < size)
        var proof: [[UInt8]] = []
        var i = index
        for level in levels.dropLast() {
            let sibling = i ^ 1
            if sibling < level.count { proof.append(level[sibling]) }
            i >>= 1
        }
        return proof
    }
}
