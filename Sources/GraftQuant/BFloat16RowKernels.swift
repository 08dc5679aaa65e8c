import CGraftKernels

/// Rows of bfloat16 weights against Float32 vectors, computed in Float32: half the bytes of
/// Float32 rows for weights that are read far more than computed with (the low-rank matrices of
/// many served adapters). The order of the sums is fixed for a build, so a row's result never
/// depends on what else is computed.
public enum BFloat16RowKernels {
    /// Σ a[i]·x[i] over n values.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<UInt16>, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        graft_dot_bf16(a, x, Int32(n))
    }

    /// y[i] += alpha·a[i] over n values.
    @inline(__always)
    public static func axpy(_ alpha: Float, _ a: UnsafePointer<UInt16>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        graft_axpy_bf16(alpha, a, y, Int32(n))
    }
}
