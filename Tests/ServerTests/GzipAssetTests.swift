import Foundation
@testable import StrongroomServer
import TestSupport
import XCTest

/// The console's scripts and styles go compressed to a browser that takes gzip, and stock gzip
/// gives back every byte; one that does not ask gets them as they are.
final class GzipAssetTests: XCTestCase {
    func testEveryAssetCompressesToWhatStockGzipUnpacksByteForByte() throws {
        let dir = NSTemporaryDirectory() + "gzip-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var plain = 0, packed = 0
        for (name, asset) in ConsoleAssets.all {
            let gzip = try XCTUnwrap(ConsoleAssets.compressed[name], name)
            try Data(gzip).write(to: URL(fileURLWithPath: dir + "/\(name).gz"))
            let run = try runTool("gzip", ["-dc", dir + "/\(name).gz"])
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertEqual(Array(run.stdout), asset.bytes, name)
            plain += asset.bytes.count
            packed += gzip.count
        }
        XCTAssertLessThan(packed * 2, plain, "text compresses to under half")
    }

    func testGzipIsSentOnlyWhenTheBrowserTakesIt() {
        XCTAssertTrue(GzipAsset.accepted("gzip, deflate, br, zstd"))
        XCTAssertTrue(GzipAsset.accepted("br;q=1.0, gzip;q=0.8"))
        XCTAssertTrue(GzipAsset.accepted("*"))
        XCTAssertFalse(GzipAsset.accepted(nil))
        XCTAssertFalse(GzipAsset.accepted("identity"))
        XCTAssertFalse(GzipAsset.accepted("gzip;q=0"))
        XCTAssertFalse(GzipAsset.accepted("br, gzip; q=0.0"))
        XCTAssertFalse(GzipAsset.accepted("gzipped"))
    }

    func testTheAnswerSaysItIsCompressedAndVariesByWhatWasAsked() throws {
        let packed = try ConsoleAssets.response(named: "console.css", acceptEncoding: "gzip")
        XCTAssertEqual(packed.headers[.contentEncoding], "gzip")
        XCTAssertEqual(packed.headers[.vary], "Accept-Encoding")
        let plain = try ConsoleAssets.response(named: "console.css", acceptEncoding: nil)
        XCTAssertNil(plain.headers[.contentEncoding])
        XCTAssertEqual(plain.headers[.vary], "Accept-Encoding")
    }
}
