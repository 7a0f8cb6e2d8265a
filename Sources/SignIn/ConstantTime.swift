/// Byte comparison whose running time depends only on the lengths, never on where the inputs
/// first differ: for challenges and TOTP codes, so that timing cannot guess them byte by byte.
/// Lengths are not secret here (a challenge is 32 bytes, a code 6 digits).
public enum ConstantTime {
    @inline(never)
    public static func equal(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
