import CBLAS

/// The BLAS calls Graft makes, in row-major terms. OpenBLAS does the arithmetic, one thread per
/// call; large products are split over the cores by Graft's own worker pool (`sgemm`), so one
/// set of threads serves the whole process.
public enum BLAS {
    /// C[m×n] = alpha · op(A) · op(B) + beta · C, row-major, with leading dimensions.
    ///
    /// Products of at least 2²⁰ multiply-adds run as one single-threaded OpenBLAS call per core,
    /// each on a block of C's rows (or of its columns, when C has few rows). OpenBLAS's own
    /// threads polled with sched_yield between calls on the core the worker pool needs for
    /// everything else (8% of a training step's samples on an AVX2 build), and the pool's helpers
    /// polling for their next loop took cores from them (float32 training −10% with 100 µs of
    /// polling). Split here, the products run at raw OpenBLAS's rate (`graft-bench tensor`:
    /// 0.99–1.00×) and float32 training keeps its speed with the longer polling decoding needs.
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = singleThreaded
        let parts = Parallelism.workers
        guard canSplit, parts > 1, m * n * k >= 1 << 20, max(m, n) >= 32 * parts else {
            call(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        if m >= n || m >= 32 * parts {
            // Blocks of C's rows, multiples of 16: op(A)'s rows are A's rows, or its columns when transposed.
            let per = ((m + parts - 1) / parts + 15) & ~15
            WorkerPool.shared.run(parts) { p in
                let lo = p * per, hi = min(m, lo + per)
                guard lo < hi else { return }
                call(transA, transB, hi - lo, n, k, alpha, transA ? a + lo : a + lo * lda, lda, b, ldb, beta,
                     c + lo * ldc, ldc)
            }
        } else {
            // Blocks of C's columns: op(B)'s columns are B's columns, or its rows when transposed.
            let per = ((n + parts - 1) / parts + 15) & ~15
            WorkerPool.shared.run(parts) { p in
                let lo = p * per, hi = min(n, lo + per)
                guard lo < hi else { return }
                call(transA, transB, m, hi - lo, k, alpha, a, lda, transB ? b + lo * ldb : b + lo, ldb, beta,
                     c + lo, ldc)
            }
        }
    }

    @inline(__always)
    private static func call(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                             _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float,
                             _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }

    /// Whether calls from several threads at once are safe and single-threaded: the pthreads
    /// build of OpenBLAS (Debian's default). With the OpenMP build the thread count is per
    /// calling thread, and a serial build may not lock; there OpenBLAS keeps its own threading.
    private static let canSplit = openblas_get_parallel() == 1

    /// OpenBLAS runs each call on the calling thread (set once, before the first product).
    private static let singleThreaded: Void = { if canSplit { openblas_set_num_threads(1) } }()

    /// A plain OpenBLAS call with OpenBLAS's own threads (`threads` of them), for benchmarks
    /// that hold Graft's products to raw OpenBLAS.
    public static func rawSgemm(threads: Int, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                                a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = singleThreaded
        openblas_set_num_threads(Int32(threads))
        call(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
        openblas_set_num_threads(1)
    }

}

extension BLAS {
    /// The kernel family OpenBLAS picked for this CPU (e.g. "Cooperlake", "SkylakeX", "Haswell").
    public static var coreName: String { String(cString: openblas_get_corename()) }
}
