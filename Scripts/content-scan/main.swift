// Throughput of the content checks an upload passes through after libmagic: the markup scanner
// on text, the PDF and office-package checks on their formats. Built with -O by
// Scripts/bench-content.sh from the vault's own source files.
import Foundation

let mib = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 256
let chunk = 64 * 1024

var seed: UInt64 = 0x5eed
func random(_ n: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: n)
    for i in 0..<n {
        seed &+= 0x9e37_79b9_7f4a_7c15
        var z = seed
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        out[i] = UInt8(truncatingIfNeeded: (z ^ (z >> 27)) >> 11)
    }
    return out
}

func prose(_ n: Int) -> [UInt8] {
    let words = "The child said that home was scary at night; the parent was called at 10:40 (no further concerns). "
    var out: [UInt8] = []
    out.reserveCapacity(n)
    while out.count < n { out += Array(words.utf8) }
    return Array(out.prefix(n))
}

func time<C: ContentCheck>(_ label: String, _ bytes: [UInt8], _ make: () -> C) {
    var best = Double.infinity
    for _ in 0..<3 {
        var check = make()
        let start = DispatchTime.now().uptimeNanoseconds
        bytes.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let end = min(all.count, offset + chunk)
                if check.scan(UnsafeRawBufferPointer(rebasing: all[offset..<end])) != nil { fatalError("\(label): refused") }
                offset = end
            }
        }
        if check.finish() != nil { fatalError("\(label): refused at the end") }
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    let mbps = Double(bytes.count) / 1e6 / best
    print(String(format: "| %-52@ | %8.0f | %8.3f |", label as NSString, mbps, best))
}

let size = mib << 20
print("content checks over \(mib) MiB in 64 KiB chunks, best of 3 (MB = 10^6 bytes)")
print("| input | MB/s | seconds |")
print("|---|---:|---:|")
let text = prose(size)
time("text, markup scanner (UTF-8 prose, no '<')", text) { MarkupCheck(family: "") }
var bracketed = text
for i in stride(from: 0, to: size - 20, by: 200) { bracketed.replaceSubrange(i..<(i + 17), with: Array("<image removed> .".utf8)) }
time("text, markup scanner (a tag every 200 bytes)", bracketed) { MarkupCheck(family: "") }
let pdfLike = Array("%PDF-1.4\n".utf8) + random(size)
time("PDF check, %PDF-1.4 then random bytes (bench-core's input)", pdfLike) { PDFActiveContent() }
var streams: [UInt8] = Array("%PDF-1.7\n".utf8)
var n = 1
while streams.count < size {
    let data = random(200_000)
    streams += Array("\(n) 0 obj\n<< /Filter /DCTDecode /Length \(data.count) >>\nstream\n".utf8) + data + Array("\nendstream\nendobj\n".utf8)
    n += 1
}
time("PDF check, 200 KB image streams", streams) { PDFActiveContent() }
let zipLike = Array("PK\u{03}\u{04}".utf8) + random(size)
time("office package check, random zip data", zipLike) { OfficePackageParts() }
