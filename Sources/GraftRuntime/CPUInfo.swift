import CGraftKernels
import Foundation
import GraftQuant
import GraftTensor

/// The CPU this process runs on and what Graft uses of it: printed at the top of benchmarks, so
/// every figure says which machine it came from.
public struct CPUInfo: Sendable {
    /// /proc/cpuinfo's "model name" (e.g. "AMD EPYC 9R14"), with its family and model numbers.
    public let model: String
    /// /proc/cpuinfo's flags.
    public let flags: Set<String>

    public init(cpuinfo: String) {
        func field(_ name: String) -> String? {
            cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix(name) })
                .flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        var model = field("model name") ?? "unknown CPU"
        if let family = field("cpu family"), let number = field("model\t") ?? field("model ") {
            model += " (family \(family), model \(number))"
        }
        self.model = model
        flags = Set((field("flags") ?? "").split(separator: " ").map(String.init))
    }

    /// This machine's, or an unknown CPU where /proc/cpuinfo cannot be read.
    public static let current = CPUInfo(cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")

    /// The flags that decide Graft's and its peers' kernels, in a fixed order, those present.
    public var relevantFlags: [String] {
        ["avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8"]
            .filter(flags.contains)
    }

    /// What kind of machine this is among those the project has met: "Intel with AMX",
    /// "AVX-512 (no AMX)", "AVX2 only" or "older than AVX2".
    public var kind: String {
        if flags.contains("amx_tile") { return "AVX-512 with AMX" }
        if flags.contains("avx512f") { return "AVX-512 (no AMX)" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "AVX2 only" }
        return "older than AVX2"
    }

    /// Lines for the top of a benchmark: the CPU, the build, and which kernels run.
    public var summary: [String] {
        [
            "CPU: \(model): \(kind); flags used: \(relevantFlags.joined(separator: " "))",
            "build: \(String(cString: graft_build_target())); integer decode kernels compiled and runnable: "
                + IntegerKernels.available.map(\.name).joined(separator: ", ")
                + "; fast decodes with \(IntegerKernels.preferred?.name ?? "the float kernels of exact")",
            "bfloat16 training products: " + (BFloat16Compute.engine?.rawValue ?? "run float32 (neither AMX nor AVX512-BF16 in this build and CPU)")
                + "; OpenBLAS kernels: \(BLAS.coreName)",
        ]
    }
}
