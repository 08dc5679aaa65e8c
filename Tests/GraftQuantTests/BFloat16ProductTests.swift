import GraftQuant
import GraftTensor
import Testing

/// The bfloat16 products, on every engine this build and CPU run (AMX tiles, AVX512-BF16), against
/// a float64 sum over the same bfloat16-rounded operands, at shapes that leave partial tiles in
/// every dimension; where there is no engine, `.bfloat16` must fall back to the exact float32 path.
@Suite struct BFloat16ProductTests {
    /// Rounds to the nearest bfloat16, ties to even (as VCVTNEPS2BF16 does for finite values).
    static func bf16(_ x: Float) -> Double {
        let bits = x.bitPattern
        let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000
        return Double(Float(bitPattern: rounded))
    }

    /// (type, rows, cols, n): Q4_1 with whole and partial tiles of W's rows; F16 with k not a
    /// multiple of 32 (zero padding inside a step) and a single partial tile of rows.
    @Test(arguments: [(GGMLType.q4_1, 77, 96, 37), (.q4_1, 64, 64, 64), (.f16, 45, 70, 5), (.q8_0, 200, 160, 70)])
    func productsEqualBFloat16Reference(_ type: GGMLType, rows: Int, cols: Int, n: Int) {
        var rng = RandomGenerator(seed: 5)
        let w = QuantizedMatrix(type: type, rows: rows, cols: cols,
                                bytes: Quantize.row(type, (0..<(rows * cols)).map { _ in rng.nextNormal() }))
        let dense = w.dequantized().toArray()
        let x = Tensor.randn([n, cols], generator: &rng)
        let dy = Tensor.randn([n, rows], generator: &rng)
        let previous = Tensor.randn([n, cols], generator: &rng)
        let y = Tensor(uninitializedShape: [n, rows]), exactY = Tensor(uninitializedShape: [n, rows])
        w.multiply(x.basePointer, n: n, into: y.basePointer, kernels: .bfloat16)
        w.multiply(x.basePointer, n: n, into: exactY.basePointer, kernels: .exact)
        guard BFloat16Compute.isAvailable else {
            #expect(y.toArray() == exactY.toArray(), "without a bfloat16 engine, .bfloat16 runs the float32 path")
            return
        }
        for engine in BFloat16Compute.engines {
            let y = Tensor(uninitializedShape: [n, rows])
            let dx = Tensor(uninitializedShape: [n, cols]), dxSum = Tensor(previous.toArray(), shape: [n, cols])
            w.multiplyBFloat16(x.basePointer, n: n, into: y.basePointer, engine: engine)
            w.multiplyTransposedBFloat16(dy.basePointer, n: n, into: dx.basePointer, accumulate: false, engine: engine)
            w.multiplyTransposedBFloat16(dy.basePointer, n: n, into: dxSum.basePointer, accumulate: true, engine: engine)
            check(engine, y: y, exactY: exactY, dx: dx, dxSum: dxSum, x: x, dy: dy, previous: previous, dense: dense)
        }
    }

    func check(_ engine: BFloat16Compute.Engine, y: Tensor, exactY: Tensor, dx: Tensor, dxSum: Tensor, x: Tensor, dy: Tensor,
               previous: Tensor, dense: [Float]) {
        let (n, rows, cols) = (y.shape[0], y.shape[1], x.shape[1])
        let xs = x.toArray(), dys = dy.toArray(), prev = previous.toArray()
        var worstForward = 0.0, worstBackward = 0.0, worstSum = 0.0, worstVsExact = 0.0
        let scale = Double(exactY.toArray().map(abs).max()!)
        for t in 0..<n {
            for r in 0..<rows {
                var ref = 0.0
                for k in 0..<cols { ref += Self.bf16(xs[t * cols + k]) * Self.bf16(dense[r * cols + k]) }
                worstForward = max(worstForward, abs(Double(y[t, r]) - ref) / scale)
                worstVsExact = max(worstVsExact, abs(Double(y[t, r] - exactY[t, r])) / scale)
            }
            for c in 0..<cols {
                var ref = 0.0
                for r in 0..<rows { ref += Self.bf16(dys[t * rows + r]) * Self.bf16(dense[r * cols + c]) }
                worstBackward = max(worstBackward, abs(Double(dx[t, c]) - ref) / scale)
                worstSum = max(worstSum, abs(Double(dxSum[t, c]) - (ref + Double(prev[t * cols + c]))) / scale)
            }
        }
        #expect(worstForward < 1e-5, "\(engine.rawValue) forward vs bfloat16 reference: \(worstForward)")
        #expect(worstBackward < 1e-5, "\(engine.rawValue) backward vs bfloat16 reference: \(worstBackward)")
        #expect(worstSum < 1e-5, "\(engine.rawValue) accumulating backward: \(worstSum)")
        // bfloat16 keeps 8 bits of mantissa: the products differ from float32 by about 2⁻⁹ relative
        // per term, so clearly but boundedly.
        #expect(worstVsExact > 1e-6 && worstVsExact < 0.03, "\(engine.rawValue) bfloat16 vs float32: \(worstVsExact)")
    }
}
