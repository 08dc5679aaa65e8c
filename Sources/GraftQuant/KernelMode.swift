/// Which arithmetic the frozen base's matrix products use.
public enum KernelMode: String, Sendable, CaseIterable {
    /// Float32 activations over exactly dequantized weights: what training uses and what the
    /// parity tests hold to an outside float reference.
    case exact
    /// The fastest kernels here: for a few activation rows (decoding), activations quantized to
    /// 16 bits per block of 32 and integer dot products (AVX-512 VNNI); for many rows the exact
    /// tiled path, which already runs at sgemm speed.
    case fast
}
