/// Data-key wrap, format version 1, produced independently with PyNaCl from docs/keys.md:
/// KEK 00..1f, DEK a0..bf, nonce 40..57, binding ("school-1", "0123…cdef", 1, "kek-0001").
enum KeyWrapVector {
    static let wrappedHex =
        "404142434445464748494a4b4c4d4e4f5051525354555657"
        + "7498a7d37445dfb1275d2d150331cb3d220b1f77a7ece52dd28847feb5b99d2f3e4f9225c34e64b6d008053297781d0d"
}
