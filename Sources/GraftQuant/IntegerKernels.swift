import CGraftKernels

/// One compiled set of the integer decode kernels (`graft_kernels.h`): portable C, AVX2
/// (vpmaddwd) or AVX-512 VNNI (vpdpwssd). Every set computes the same integer sum per block, so
/// they differ only in float rounding order; the tests hold each one this CPU runs to the Swift
/// reference.
public struct IntegerKernels: @unchecked Sendable {
    public enum Level: Int32, CaseIterable, Sendable {
        case portable = 0, avx2 = 1, avx512VNNI = 2
    }

    public let level: Level
    let set: UnsafePointer<graft_q16_kernels>

    /// "portable", "avx2" or "avx512-vnni".
    public var name: String { String(cString: set.pointee.name) }

    /// The set of `level`, or nil when this build did not compile it or this CPU lacks it.
    public init?(_ level: Level) {
        guard let set = graft_q16_kernels_for(level.rawValue) else { return nil }
        self.level = level
        self.set = set
    }

    /// Every set this build has and this CPU runs, from the portable one up.
    public static let available: [IntegerKernels] = Level.allCases.compactMap { IntegerKernels($0) }

    /// What `KernelMode.fast` decodes with on this CPU, chosen once at load: the widest SIMD set,
    /// or nil where only the portable C is there. Scalar integer code is slower than the float
    /// kernels of `.exact`, so without SIMD sets `fast` decodes as `exact` does: `fast` is never
    /// the slower of the two.
    public static let preferred: IntegerKernels? = available.last.flatMap { $0.level == .portable ? nil : $0 }

    /// What `fast` runs for a few activation rows on this CPU, for logs and benchmarks.
    public static var decodeDescription: String {
        if let preferred { return "16-bit activations × \(preferred.name) integer dot products" }
        return "Float32 kernels (no SIMD integer kernels on this CPU)"
    }
}
