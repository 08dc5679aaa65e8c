import CBLAS
import Foundation
import GraftTensor

/// The tensor core against the machine's limits, measured in the same run:
/// - `matmul` (the linear-layer form, x·Wᵀ) against a raw `cblas_sgemm` into a preallocated
///   output, for the shapes of a 135M Llama at 512 tokens; target ≥ 0.95×.
/// - elementwise ops in GB/s (bytes read + written) against `memcpy`; target ≥ 0.5×.
enum TensorBench {
    static func run(repeats: Int) {
        print("== matmul (single-threaded OpenBLAS per core, split by Graft's pool) vs raw cblas_sgemm (OpenBLAS's own 2 threads), median of \(repeats) ==")
        var table = Table("shape M×K×N", "form", "raw GFLOP/s", "graft GFLOP/s", "ratio")
        var ratios: [Double] = []
        var rng = RandomGenerator(seed: 1)
        for (m, k, n) in [(512, 576, 576), (512, 576, 1536), (512, 1536, 576), (512, 576, 49152)] {
            let x = Tensor.randn([m, k], generator: &rng)
            let wT = Tensor.randn([n, k], generator: &rng)   // a linear layer's [out, in] weight
            let w = Tensor.randn([k, n], generator: &rng)
            let c = Tensor(uninitializedShape: [m, n])
            let flops = 2.0 * Double(m) * Double(k) * Double(n)
            let reps = n > 10_000 ? max(3, repeats / 3) : repeats
            for (form, transB, rhs) in [("x·Wᵀ", true, wT), ("x·W", false, w)] {
                // Raw OpenBLAS (its own threads) and Graft's split in two blocks, each after a
                // pause: OpenBLAS's threads poll with sched_yield for 2²⁸ TSC ticks (~0.1 s here)
                // after a call, on the core Graft's pool needs, and a sleeping core takes over a
                // millisecond to wake on these virtual machines. Warm-up calls wake each side's
                // threads, as any product in a run of products finds them.
                Thread.sleep(forTimeInterval: 0.3)
                let raw = Measurement(repeats: reps, warmup: 3) {
                    BLAS.rawSgemm(threads: 2, transA: false, transB: transB, m: m, n: n, k: k, a: x.basePointer, lda: k,
                                  b: rhs.basePointer, ldb: transB ? k : n, c: c.basePointer, ldc: n)
                }.seconds
                Thread.sleep(forTimeInterval: 0.3)
                let ours = Measurement(repeats: reps, warmup: 3) { _ = matmul(x, rhs, transposeB: transB) }.seconds
                let rawRate = flops / raw.sorted()[raw.count / 2] / 1e9
                let ourRate = flops / ours.sorted()[ours.count / 2] / 1e9
                ratios.append(ourRate / rawRate)
                table.add("\(m)×\(k)×\(n)", form, fmt(rawRate), fmt(ourRate), fmt(ourRate / rawRate, 3))
            }
        }
        table.print()
        print("matmul: worst ratio \(fmt(ratios.min()!, 3)), target ≥ 0.95\n")
        elementwise(repeats: repeats)
    }

    static func elementwise(repeats: Int) {
        let n = 1 << 24   // 64 MiB per operand, twice the L3
        var rng = RandomGenerator(seed: 2)
        let a = Tensor.randn([4096, n / 4096], generator: &rng)
        let b = Tensor.randn([4096, n / 4096], generator: &rng)
        let row = Tensor.randn([n / 4096], generator: &rng)
        let norm = Tensor.ones([n / 4096])
        let dst = Tensor(uninitializedShape: [n])
        let bytes = Double(n * 4)

        let (src, out) = (UInt(bitPattern: a.basePointer), UInt(bitPattern: dst.basePointer))
        // memcpy split over both cores: the machine's copy bandwidth, the limit each op is held to.
        let parallelCopy = {
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                let o = UInt(i * n / 2 * 4)
                memcpy(UnsafeMutableRawPointer(bitPattern: out + o)!, UnsafeRawPointer(bitPattern: src + o)!, n * 2)
            }
        }
        let copy1 = Measurement(repeats: repeats) { memcpy(dst.basePointer, a.basePointer, n * 4) }
        let copy2 = Measurement(repeats: repeats, parallelCopy)
        print("== elementwise vs memcpy (median of \(repeats), 64 MiB operands, bytes read + written) ==")
        print("memcpy: \(fmt(2 * bytes / copy1.median / 1e9)) GB/s on 1 thread, \(fmt(2 * bytes / copy2.median / 1e9)) GB/s on 2 threads")
        var table = Table("op", "bytes moved", "GB/s", "memcpy GB/s", "× memcpy")
        var worst = Double.infinity
        let cases: [(String, Double, () -> Void)] = [
            ("a + b", 3 * bytes, { _ = a + b }),
            ("a * row (broadcast)", 2 * bytes, { _ = a * row }),
            ("a * 2 (scalar)", 2 * bytes, { _ = a * 2 }),
            ("silu(a)", 2 * bytes, { _ = a.silu() }),
            ("exp(a)", 2 * bytes, { _ = a.exp() }),
            ("rmsNorm(a) rows of 4096", 2 * bytes, { _ = rmsNorm(a, weight: norm, eps: 1e-5) }),
            ("softmax(a) rows of 4096", 2 * bytes, { _ = a.softmax() }),
            ("sum over rows", bytes, { _ = a.sum(axes: [0]) }),
        ]
        for (name, moved, body) in cases {
            // Interleaved with memcpy, so both see the same machine.
            body()
            var ours: [Double] = [], copies: [Double] = []
            for _ in 0..<repeats {
                ours.append(Measurement(repeats: 1, warmup: 0, body).median)
                copies.append(Measurement(repeats: 1, warmup: 0, parallelCopy).median)
            }
            let rate = moved / ours.sorted()[repeats / 2] / 1e9
            let limit = 2 * bytes / copies.sorted()[repeats / 2] / 1e9
            worst = min(worst, rate / limit)
            table.add(name, "\(Int(moved / 1_048_576)) MiB", fmt(rate), fmt(limit), fmt(rate / limit, 2))
        }
        table.print()
        print("elementwise: worst ratio \(fmt(worst, 2)) × memcpy, target ≥ 0.5")
    }
}
