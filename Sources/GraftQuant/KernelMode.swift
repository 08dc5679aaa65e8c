/// Which arithmetic the frozen base's matrix products use.
public enum KernelMode: String, Sendable, CaseIterable {
    /// Float32 activations over exactly dequantized weights: what training uses and what the
    /// parity tests hold to an outside float reference.
    case exact
    /// The fastest kernels here: for a few activation rows (decoding), activations quantized to
    /// 16 bits per block of 32 and integer dot products, in the widest set this CPU runs
    /// (`IntegerKernels.preferred`: AVX-512 VNNI or AVX2; where neither is there, the `exact`
    /// float kernels, which beat scalar integer code); for many rows the exact tiled path, which
    /// already runs at sgemm speed.
    case fast
    /// QLoRA's compute dtype bfloat16: for many rows, weights and activations rounded to
    /// bfloat16 and multiplied with float32 sums, forward and backward, on AMX tiles or with
    /// AVX512-BF16 (`BFloat16Compute.engine`); for a few rows as `.fast`. Where the CPU has
    /// neither it runs as `.exact`.
    case bfloat16

    /// Whether products over a few rows use the integer kernels.
    public var usesIntegerKernels: Bool { self != .exact }
}
