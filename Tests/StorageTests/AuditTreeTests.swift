import XCTest
import KeyManagement
@testable import Storage

final class AuditTreeTests: XCTestCase {
    func leaves(_ n: Int) -> [[UInt8]] { (0..<n).map { AuditTree.leafHash([UInt8($0 % 256), UInt8($0 / 256)]) } }

    /// Roots computed independently (Python hashlib, RFC 9162 §2.1.1) for leaves (i mod 256, i div 256).
    static let roots: [(Int, String)] = [
        (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (1, "709e80c88487a2411e1ee4dfb9f22a861492d20c4765150c0c794abd70f8147c"),
        (2, "33b019d83ad6aa45cfbb815e6106347f7dc75a0f64cd461f0c3150192ec416c0"),
        (3, "bf8740bcc6a49ec46544b94fcf891631e8dd339af77907fc0cbc4e9e65cf40cd"),
        (4, "8ef54b76928a3a37b753ea70a25d0eec96e506de35000564432c5d41e1ec0b20"),
        (5, "85d2d0b0b9514f186070d36c4b3a19aa1315df857f85ecaaaa3470bde6916586"),
        (7, "ef63c6b77d3d819057b0725726f43e00c577f8dc22529e2f61ddde7173b57021"),
        (8, "9e313c898cc548d0001631fdb45199167a74893f909908a63af8dc21499e4db1"),
        (13, "4cafc7602c2e6b4a56382e7c1ab40513e4510e1d4f51b9287ec633033c83099b"),
        (100, "75487d8581fcf29d023281e476bd700b6b336e170b01739e8d6a48348a282946"),
        (1000, "457ae06fcc47779e58e3c15b7e8b49c026d5f362b1db62d97c46e604602fc254"),
    ]

    func testRootsMatchAnIndependentRFC9162Implementation() {
        for (n, expected) in Self.roots {
            let l = leaves(n)
            XCTAssertEqual(Hex.encode(AuditTree.root(l[...])), expected, "n = \(n)")
            var frontier = TreeFrontier()
            l.forEach { frontier.append($0) }
            XCTAssertEqual(Hex.encode(frontier.root), expected, "frontier, n = \(n)")
        }
    }

    func testFrontierSurvivesSerialisation() {
        var frontier = TreeFrontier()
        for (i, leaf) in leaves(77).enumerated() {
            frontier.append(leaf)
            XCTAssertEqual(TreeFrontier(serialized: frontier.serialized), frontier, "size \(i + 1)")
        }
        XCTAssertNil(TreeFrontier(serialized: [0, 0, 0, 0, 0, 0, 0, 3] + Array(repeating: 0, count: 32)))
    }

    func testEveryInclusionProofVerifiesAndATamperedOneDoesNot() {
        for n in 1...20 {
            let l = leaves(n)
            let root = AuditTree.root(l[...])
            for i in 0..<n {
                let proof = AuditTree.inclusionProof(index: i, leaves: l[...])
                XCTAssertTrue(AuditTree.verifyInclusion(leafHash: l[i], index: i, treeSize: n, proof: proof, root: root), "\(i) of \(n)")
                XCTAssertFalse(AuditTree.verifyInclusion(leafHash: l[(i + 1) % n], index: i, treeSize: n, proof: proof, root: root) && n > 1)
                if var bad = proof.first {
                    bad[0] ^= 1
                    XCTAssertFalse(AuditTree.verifyInclusion(leafHash: l[i], index: i, treeSize: n, proof: [bad] + proof.dropFirst(), root: root))
                }
            }
        }
    }

    func testTheLevelledProverGivesTheRFCProofsAndRoot() {
        for n in Array(1...40) + [100, 1000] {
            let l = leaves(n)
            let prover = InclusionProver(leaves: l)
            XCTAssertEqual(prover.root, AuditTree.root(l[...]), "root, n = \(n)")
            for i in Set([0, n / 3, n / 2, n - 1] + (n <= 40 ? Array(0..<n) : [])) {
                XCTAssertEqual(prover.proof(index: i), AuditTree.inclusionProof(index: i, leaves: l[...]), "\(i) of \(n)")
            }
        }
        XCTAssertEqual(Hex.encode(InclusionProver(leaves: leaves(1000)).root), Self.roots.last!.1)
    }

    func testEveryConsistencyProofVerifiesAndARewrittenHistoryDoesNot() {
        for n in 1...20 {
            let l = leaves(n)
            let newRoot = AuditTree.root(l[...])
            for m in 0...n {
                let oldRoot = AuditTree.root(l[0..<m])
                let proof = AuditTree.consistencyProof(oldSize: m, leaves: l[...])
                XCTAssertTrue(AuditTree.verifyConsistency(oldSize: m, newSize: n, oldRoot: oldRoot, newRoot: newRoot, proof: proof), "\(m) -> \(n)")
                if m > 0 && m < n {
                    // The same proof cannot vouch for a history in which one old event changed.
                    var rewritten = l
                    rewritten[0] = AuditTree.leafHash([0xff])
                    let forgedOld = AuditTree.root(rewritten[0..<m])
                    XCTAssertFalse(AuditTree.verifyConsistency(oldSize: m, newSize: n, oldRoot: forgedOld, newRoot: newRoot, proof: proof))
                }
            }
        }
    }
}
