#if canImport(Glibc)
import Glibc
#endif
import CProcess

/// Process-wide protections that must be in place before any key is loaded.
public enum ProcessHardening {
    /// Disables core dumps (RLIMIT_CORE = 0) and marks the process non-dumpable
    /// (PR_SET_DUMPABLE 0, which also stops ptrace by other unprivileged processes), so that a
    /// crash never writes key material or plaintext to disk. Returns the problems it met.
    @discardableResult
    public static func apply() -> [String] {
        var problems: [String] = []
        #if os(Linux)
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        if setrlimit(Int32(RLIMIT_CORE.rawValue), &limit) != 0 {
            problems.append("setrlimit(RLIMIT_CORE) failed: errno \(errno)")
        }
        if strongroom_set_dumpable(0) != 0 {
            problems.append("prctl(PR_SET_DUMPABLE) failed: errno \(errno)")
        }
        #endif
        return problems
    }

    /// Whether core dumps are off for this process (for tests and `strongroom doctor`-style checks).
    public static var coreDumpsDisabled: Bool {
        #if os(Linux)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_CORE.rawValue), &limit) == 0 else { return false }
        return limit.rlim_cur == 0 && strongroom_get_dumpable() == 0
        #else
        return false
        #endif
    }
}
