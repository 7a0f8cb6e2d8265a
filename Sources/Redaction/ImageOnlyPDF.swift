import Foundation

/// Writes a PDF whose pages are JPEG images and nothing else: one revision (one xref, one
/// `%%EOF`), no text, fonts, annotations, outlines or document information. See
/// docs/bundles.md.
enum ImageOnlyPDF {
    struct Page {
        var jpeg: [UInt8]
        var pixelWidth: Int
        var pixelHeight: Int
        var gray: Bool
        var pointWidth: Double
        var pointHeight: Double
    }

    static func write(_ pages: [Page]) -> [UInt8] {
        var out: [UInt8] = Array("%PDF-1.4\n%".utf8) + [0xe2, 0xe3, 0xcf, 0xd3, 0x0a]
        var offsets: [Int] = []
        func object(_ body: [UInt8]) {
            offsets.append(out.count)
            out += Array("\(offsets.count) 0 obj\n".utf8) + body + Array("\nendobj\n".utf8)
        }
        func number(_ value: Double) -> String { String(format: "%.2f", value) }
        // Objects: 1 catalog, 2 page tree, then per page: page, image, content.
        let kids = pages.indices.map { "\(3 + 3 * $0) 0 R" }.joined(separator: " ")
        object(Array("<< /Type /Catalog /Pages 2 0 R >>".utf8))
        object(Array("<< /Type /Pages /Kids [\(kids)] /Count \(pages.count) >>".utf8))
        for (index, page) in pages.enumerated() {
            let pageID = 3 + 3 * index
            let w = number(page.pointWidth), h = number(page.pointHeight)
            object(Array("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 \(w) \(h)] /Resources << /XObject << /Im0 \(pageID + 1) 0 R >> >> /Contents \(pageID + 2) 0 R >>".utf8))
            object(Array("<< /Type /XObject /Subtype /Image /Width \(page.pixelWidth) /Height \(page.pixelHeight) /ColorSpace /\(page.gray ? "DeviceGray" : "DeviceRGB") /BitsPerComponent 8 /Filter /DCTDecode /Length \(page.jpeg.count) >>\nstream\n".utf8)
                + page.jpeg + Array("\nendstream".utf8))
            let content = Array("q \(w) 0 0 \(h) 0 0 cm /Im0 Do Q\n".utf8)
            object(Array("<< /Length \(content.count) >>\nstream\n".utf8) + content + Array("endstream".utf8))
        }
        let xref = out.count
        out += Array("xref\n0 \(offsets.count + 1)\n0000000000 65535 f \n".utf8)
        for offset in offsets { out += Array(String(format: "%010d 00000 n \n", offset).utf8) }
        out += Array("trailer\n<< /Size \(offsets.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n".utf8)
        return out
    }
}
