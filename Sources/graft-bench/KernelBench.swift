import Foundation
import GraftQuant
import GraftTensor

/// Quantized matrix × vector (the decode kernel) in GB/s of weights read, against the copy
/// bandwidth measured in the same run: decode speed is this rate over the model's bytes. Each
/// integer kernel set this CPU runs is measured beside the float kernels of `exact`, in the decode
/// row layout, so the table shows why `fast` runs what it runs here.
enum KernelBench {
    static func run(repeats: Int) {
        let sets = IntegerKernels.available
        print("== quantized matrix × vector (decode kernel), GB/s of weights read; fast uses \(IntegerKernels.preferred?.name ?? "exact") here ==")
        var table = Table(["matrix", "MiB", "exact (float)"] + sets.map { "\($0.name)" } + ["best × copy bandwidth"])
        let copy = CopyBandwidth.measure() / 2   // read bandwidth is what a matvec is bound by
        var rng = RandomGenerator(seed: 3)
        for (type, rows, cols) in [(GGMLType.q4_1, 16384, 4096), (.q8_0, 49152, 576), (.q4_1, 1536, 576), (.q4_1, 576, 1536)] {
            let values = (0..<(cols * 64)).map { _ in rng.nextNormal() }
            let block = Quantize.row(type, values)
            var bytes = [UInt8]()
            bytes.reserveCapacity(rows * block.count / 64)
            for _ in 0..<(rows / 64) { bytes += block }
            let w = QuantizedMatrix(type: type, rows: rows, cols: cols, bytes: bytes).repackedForDecoding()
            let x = Tensor.randn([1, cols], generator: &rng)
            let y = Tensor(uninitializedShape: [1, rows])
            let exact = Double(w.byteCount) / Measurement(repeats: repeats) {
                w.multiply(x.basePointer, n: 1, into: y.basePointer, kernels: .exact)
            }.median
            let rates = sets.map { set in
                Double(w.byteCount) / Measurement(repeats: repeats) {
                    w.multiplyFewQuantized(x.basePointer, n: 1, into: y.basePointer, kernels: set)
                }.median
            }
            table.add(["\(type) \(rows)×\(cols)", fmt(Double(w.byteCount) / 1_048_576), fmt(exact / 1e9)]
                      + rates.map { fmt($0 / 1e9) } + [fmt(max(exact, rates.max() ?? 0) / copy, 2)])
        }
        table.print()
        print("(copy bandwidth, read side: \(fmt(copy / 1e9)) GB/s)")
        tiledProducts(repeats: repeats)
    }

    /// The frozen base's products for 512 rows (prefill, training), forward and input gradient:
    /// float32 tiles through sgemm against bfloat16 AMX tiles, in GFLOP/s, against plain sgemm on
    /// the dequantized matrix measured in the same run (the machine's float32 limit).
    static func tiledProducts(repeats: Int) {
        let engines = BFloat16Compute.engines
        print("== frozen Q4_1 products, 512 rows, GFLOP/s: float32 (sgemm) vs bfloat16 ("
              + (engines.isEmpty ? "no engine here" : engines.map(\.rawValue).joined(separator: ", ")) + ") ==")
        var table = Table(["matrix", "direction", "sgemm", "float32 tiles"] + engines.map { "bf16 \($0.rawValue)" }
                          + ["best bf16 / sgemm"])
        var rng = RandomGenerator(seed: 4)
        let n = 512
        for (rows, cols) in [(1536, 576), (576, 1536), (49152, 576)] {
            let w = QuantizedMatrix(type: .q4_1, rows: rows, cols: cols,
                                    bytes: Quantize.row(.q4_1, (0..<(rows * cols)).map { _ in rng.nextNormal() }))
            let dense = w.dequantized()
            let flops = 2.0 * Double(n * rows * cols)
            for backward in [false, true] {
                let x = Tensor.randn([n, backward ? rows : cols], generator: &rng)
                let y = Tensor(uninitializedShape: [n, backward ? cols : rows])
                let sgemm = Measurement(repeats: repeats) {
                    BLAS.sgemm(transA: false, transB: !backward, m: n, n: backward ? cols : rows, k: backward ? rows : cols,
                               a: x.basePointer, lda: backward ? rows : cols, b: dense.basePointer, ldb: cols,
                               c: y.basePointer, ldc: backward ? cols : rows)
                }
                let f32 = Measurement(repeats: repeats) {
                    if backward { w.multiplyTransposed(x.basePointer, n: n, into: y.basePointer, accumulate: false, kernels: .exact) }
                    else { w.multiply(x.basePointer, n: n, into: y.basePointer, kernels: .exact) }
                }
                let bf16 = engines.map { engine in
                    Measurement(repeats: repeats) {
                        if backward { w.multiplyTransposedBFloat16(x.basePointer, n: n, into: y.basePointer, accumulate: false, engine: engine) }
                        else { w.multiplyBFloat16(x.basePointer, n: n, into: y.basePointer, engine: engine) }
                    }.median
                }
                table.add(["\(rows)×\(cols)", backward ? "dx = dy·W" : "y = x·Wᵀ", fmt(flops / sgemm.median / 1e9),
                           fmt(flops / f32.median / 1e9)] + bf16.map { fmt(flops / $0 / 1e9) }
                          + [bf16.min().map { fmt(sgemm.median / $0, 2) } ?? "–"])
            }
        }
        table.print()
        print(engines.isEmpty ? "(neither AMX nor AVX512-BF16 in this build and CPU: bfloat16 runs the float32 path)"
                              : "(every tiled column includes dequantizing the Q4_1 blocks; .bfloat16 uses \(BFloat16Compute.engine!.rawValue))")
    }
}
