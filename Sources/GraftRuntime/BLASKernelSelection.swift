import Foundation
import GraftTensor

/// Makes sure OpenBLAS runs the best kernels this CPU supports.
///
/// OpenBLAS 0.3.21 (Debian 12) picks its kernels from the CPUID model number, and on CPUs it does
/// not know (seen here: a virtualised Xeon reporting AVX-512 and AVX512_BF16) it falls back to
/// "Prescott" SSE3 kernels: sgemm at ~40 GFLOP/s instead of ~220. The choice is made when the
/// library loads, before `main`, and only `OPENBLAS_CORETYPE` in the environment overrides it; so
/// when the pick is weaker than the CPU's flags allow, the process starts itself again with the
/// variable set. A variable the user set is always respected.
public enum BLASKernelSelection {
    /// Families in increasing order of capability, as OpenBLAS names them.
    static let ranking = ["prescott", "core2", "penryn", "dunnington", "nehalem", "sandybridge",
                          "haswell", "zen", "skylakex", "cooperlake"]

    /// The best family for a CPU with these /proc/cpuinfo flags, or nil when nothing better than
    /// the generic kernels applies.
    public static func bestCoreType(flags: Set<String>) -> String? {
        if flags.isSuperset(of: ["avx512f", "avx512vl", "avx512bw", "avx512dq"]) {
            return flags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
        }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// Re-executes the current program with `OPENBLAS_CORETYPE` set when OpenBLAS chose weaker
    /// kernels than the CPU supports. Returns normally when nothing needs to change.
    public static func relaunchIfNeeded() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let best = bestCoreType(flags: Set(flagLine.split(separator: " ").map(String.init)))
        else { return }
        let current = BLAS.coreName.lowercased()
        guard let have = ranking.firstIndex(of: current), let want = ranking.firstIndex(of: best.lowercased()),
              want > have else { return }
        setenv("OPENBLAS_CORETYPE", best, 1)
        let args = CommandLine.arguments
        var cArgs = args.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &cArgs)
        // execv only returns on failure: carry on with the slower kernels.
        FileHandle.standardError.write(Data("graft: note: could not restart with OPENBLAS_CORETYPE=\(best); matrix products will be slow\n".utf8))
    }
}
