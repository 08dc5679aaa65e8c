import CBLAS

/// The BLAS calls Graft makes, in row-major terms. OpenBLAS does the arithmetic.
public enum BLAS {
    /// C[m×n] = alpha · op(A) · op(B) + beta · C, row-major, with leading dimensions.
    @inline(__always)
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        // Products big enough for OpenBLAS to use its own threads: our spinning helpers yield
        // their cores to them (see `WorkerPool.park`).
        if m * n * k >= 1 << 20 { WorkerPool.shared.park() }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }

    /// OpenBLAS's thread count. Set it explicitly: its automatic choice was seen not to scale.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}

extension BLAS {
    /// The kernel family OpenBLAS picked for this CPU (e.g. "Cooperlake", "SkylakeX", "Haswell").
    public static var coreName: String { String(cString: openblas_get_corename()) }
}
