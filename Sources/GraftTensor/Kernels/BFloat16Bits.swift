/// bfloat16 (the top 16 bits of a Float32) to and from Float32. The row kernels over bfloat16
/// weights are C (`graft_dot_bf16`, `graft_axpy_bf16`), wrapped by GraftQuant's `BFloat16RowKernels`.
extension Kernels {
    /// The bfloat16 nearest to x (ties to even); NaN stays NaN.
    @inlinable
    public static func bfloat16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if bits & 0x7fff_ffff > 0x7f80_0000 { return UInt16(truncatingIfNeeded: bits >> 16) | 0x40 }
        return UInt16(truncatingIfNeeded: (bits &+ 0x7fff &+ ((bits >> 16) & 1)) >> 16)
    }

    /// The Float32 a bfloat16 stands for (exact).
    @inlinable
    public static func float(bfloat16 bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }
}
