import CGraftKernels
import GraftTensor

/// bfloat16 products of the frozen base with many activation rows: QLoRA's "compute dtype
/// bfloat16". Weights and activations are rounded to bfloat16 (nearest even) and their products
/// summed in float32, forward and backward; the float32 tiled path stays the exact reference
/// (`KernelMode.exact`). Kernels and layouts: CGraftKernels/include/graft_amx.h.
public enum BFloat16Compute {
    /// What multiplies the bfloat16 operands: Intel AMX tiles, or AVX512-BF16 registers
    /// (VDPBF16PS) on CPUs that have it without AMX (AMD Zen 4 and 5). Both read the same packed
    /// operands and sum in float32.
    public enum Engine: String, CaseIterable, Sendable {
        case amx = "AMX tiles"
        case avx512 = "AVX512-BF16"

        var isAvailable: Bool {
            switch self {
            case .amx: graft_amx_bf16_available() != 0
            case .avx512: graft_avx512bf16_available() != 0
            }
        }

        /// c = (accumulate ? c : 0) + A·B on this engine (`graft_amx_gemm`'s contract).
        func gemm(_ a: UnsafePointer<UInt16>, _ lda: Int, m: Int, ksteps: Int, _ b: UnsafePointer<UInt16>,
                  panelStride: Int, ncols: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
            switch self {
            case .amx:
                graft_amx_gemm(a, lda, Int32(m), Int32(ksteps), b, panelStride, Int32(ncols), c, ldc, accumulate ? 1 : 0)
            case .avx512:
                graft_avx512bf16_gemm(a, lda, Int32(m), Int32(ksteps), b, panelStride, Int32(ncols), c, ldc, accumulate ? 1 : 0)
            }
        }
    }

    /// Every engine this build has and this CPU runs (the tests hold each to the reference).
    public static let engines: [Engine] = Engine.allCases.filter(\.isAvailable)
    /// What `.bfloat16` uses: AMX where the CPU has it, else AVX512-BF16, else nothing (then
    /// `.bfloat16` runs the float32 path). The kernel bench measures the chosen engine against
    /// sgemm on the same machine.
    public static let engine: Engine? = engines.first
    /// Whether `.bfloat16` runs in bfloat16 on this machine.
    public static var isAvailable: Bool { engine != nil }
}

/// Rows of float32 rounded to bfloat16, zero-padded to whole 32 × 32 tiles: the A operand. The
/// buffer comes from the tensor buffer pool (as half as many floats), so the same sizes every
/// step reuse memory instead of faulting in fresh pages (50 MB for the output head's gradient).
final class BFloat16Rows {
    let rows: Int
    let paddedCols: Int
    let pointer: UnsafeMutablePointer<UInt16>
    private let storage: TensorStorage

    init(_ x: UnsafePointer<Float>, rows: Int, cols: Int) {
        self.rows = rows
        paddedCols = (cols + 31) / 32 * 32
        let paddedRows = (rows + 31) / 32 * 32
        storage = TensorStorage(count: (paddedRows * paddedCols + 1) / 2)
        pointer = UnsafeMutableRawPointer(storage.pointer).bindMemory(to: UInt16.self, capacity: paddedRows * paddedCols)
        (pointer + rows * paddedCols).initialize(repeating: 0, count: (paddedRows - rows) * paddedCols)
        parallelChunks(rows, grain: 64) { range in
            graft_bf16_rows(x + range.lowerBound * cols, cols, Int32(range.count), Int32(cols),
                            pointer + range.lowerBound * paddedCols, paddedCols, Int32(paddedCols))
        }
    }

    /// The pool hands the buffer out as floats again.
    deinit { _ = UnsafeMutableRawPointer(storage.pointer).bindMemory(to: Float.self, capacity: storage.count) }
}

extension FrozenMatrix {
    /// y[n, rows] = x[n, cols] · Wᵀ in bfloat16. Each worker takes 32 rows of W at a time:
    /// dequantizes them, packs them as two tile panels (36 KiB at cols = 576, L1-sized) and runs
    /// them against every row of x, so W is read once and never exists in float whole.
    public func multiplyBFloat16(_ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>,
                          engine: BFloat16Compute.Engine) {
        let a = BFloat16Rows(x, rows: n, cols: cols)
        let steps = a.paddedCols / 32
        let groups = (rows + 31) / 32
        parallelChunks(groups, grain: 1) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 32 * cols)
            let panels = UnsafeMutablePointer<UInt16>.allocate(capacity: 2 * steps * 512)
            defer {
                scratch.deallocate()
                panels.deallocate()
            }
            for group in range {
                let first = group * 32
                let count = min(32, rows - first)
                dequantize(rows: first..<(first + count), into: scratch)
                graft_amx_pack_transposed(scratch, cols, Int32(min(16, count)), Int32(cols), Int32(steps), panels)
                graft_amx_pack_transposed(scratch + 16 * cols, cols, Int32(max(0, count - 16)), Int32(cols),
                                          Int32(steps), panels + steps * 512)
                engine.gemm(a.pointer, a.paddedCols, m: n, ksteps: steps, panels, panelStride: steps * 512,
                            ncols: count, y + first, ldc: rows, accumulate: false)
            }
        }
    }

    /// dx[n, cols] = dy[n, rows] · W (+ dx when `accumulate`) in bfloat16. W is taken in chunks of
    /// rows (about 1 MiB of panels): both workers dequantize and pack a chunk's steps, then each
    /// runs its share of dx's columns over the chunk, accumulating into dx.
    public func multiplyTransposedBFloat16(_ dy: UnsafePointer<Float>, n: Int, into dx: UnsafeMutablePointer<Float>,
                                    accumulate: Bool, engine: BFloat16Compute.Engine) {
        let a = BFloat16Rows(dy, rows: n, cols: rows)
        let pairs = (cols + 31) / 32
        let chunkSteps = max(1, min((rows + 31) / 32, (1 << 20) / (2 * 32 * max(cols, 1))))
        let panels = UnsafeMutablePointer<UInt16>.allocate(capacity: 2 * pairs * chunkSteps * 512)
        defer { panels.deallocate() }
        var start = 0
        while start < rows {
            let steps = min(chunkSteps, (rows - start + 31) / 32)
            parallelChunks(steps, grain: 1) { range in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 32 * cols)
                defer { scratch.deallocate() }
                for step in range {
                    let first = start + step * 32
                    let count = min(32, rows - first)
                    dequantize(rows: first..<(first + count), into: scratch)
                    graft_amx_pack_plain(scratch, cols, Int32(count), Int32(cols), Int32(chunkSteps), Int32(step), panels)
                }
            }
            let overwrite = !accumulate && start == 0
            parallelChunks(pairs, grain: 1) { range in
                for pair in range {
                    let first = pair * 32
                    engine.gemm(a.pointer + start, a.paddedCols, m: n, ksteps: steps,
                                panels + 2 * pair * chunkSteps * 512, panelStride: chunkSteps * 512,
                                ncols: min(32, cols - first), dx + first, ldc: cols, accumulate: !overwrite)
                }
            }
            start += steps * 32
        }
    }
}
