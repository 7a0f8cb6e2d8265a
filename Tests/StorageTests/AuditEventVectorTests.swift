import XCTest
import KeyManagement
@testable import Storage

/// Known answers computed independently (Python hashlib) from docs/audit.md.
final class AuditEventVectorTests: XCTestCase {
    let vault = "0123456789abcdef0123456789abcdef"

    func testGenesisAndEventHashMatchTheSpecification() {
        let genesis = AuditEvent.genesisHash(vaultID: vault)
        XCTAssertEqual(Hex.encode(genesis), "91ca6097056b69fdd4cc16efd6282bcb61872a335b81ad6ae1daa14bb077c657")
        let event = AuditEvent(
            sequence: 1, timeMillis: 1_764_072_000_000, actor: "dsl:jo", action: "get", outcome: "ok", school: "S1", child: "C1",
            concern: "K1", record: "00112233445566778899aabbccddeeff", reason: nil, previousHash: genesis, hash: [])
        XCTAssertEqual(Hex.encode(event.computedHash), "cd23cffde6f53b47243022a5cefdc95e48e32a600c71a48f936ee9d23438ceba")
    }

    func testCheckpointMessageMatchesTheSpecification() {
        let message = Checkpoint.message(vaultID: vault, treeSize: 7, root: Array(0..<32), timeMillis: 1_764_072_000_000)
        XCTAssertEqual(Hex.encode(SHA256Hasher.hash(message)), "6b0cd6be48924869460c10f409bae0ed01feda3fd03bfed02b543be8aba68e68")
    }
}
