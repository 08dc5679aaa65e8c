import GraftQuant
import GraftTensor
import Testing

/// The bfloat16 row kernels the engine serves adapters with, in whatever vector width this build
/// has, against float64 sums of the same bfloat16 values; and the rounding to bfloat16 on the
/// values where it is easy to get wrong (ties, the largest finite value, NaN).
@Suite struct BFloat16RowKernelTests {
    @Test func roundingIsToNearestEven() {
        #expect(Kernels.bfloat16Bits(1) == 0x3F80)
        #expect(Kernels.bfloat16Bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie, even below
        #expect(Kernels.bfloat16Bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie, even above
        #expect(Kernels.bfloat16Bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(Kernels.bfloat16Bits(-2.5) == 0xC020)
        #expect(Kernels.bfloat16Bits(.infinity) == 0x7F80)
        #expect(Kernels.bfloat16Bits(.greatestFiniteMagnitude) == 0x7F80)  // rounds up to ∞, as PyTorch does
        #expect(Kernels.float(bfloat16: Kernels.bfloat16Bits(.nan)).isNaN)
        #expect(Kernels.float(bfloat16: 0x3F80) == 1)
    }

    @Test(arguments: [0, 1, 7, 15, 16, 17, 31, 33, 576, 1539])
    func dotAndAxpyMatchFloat64(_ n: Int) {
        var rng = RandomGenerator(seed: UInt64(n + 1))
        let a = (0..<n).map { _ in Kernels.bfloat16Bits(rng.nextUniform() - 0.5) }
        let x = (0..<n).map { _ in Float(rng.nextUniform() * 4 - 2) }
        let wide = a.map { Double(Kernels.float(bfloat16: $0)) }
        let reference = zip(wide, x).reduce(0.0) { $0 + $1.0 * Double($1.1) }
        let magnitude = zip(wide, x).reduce(0.0) { $0 + abs($1.0 * Double($1.1)) }
        let dot = a.withUnsafeBufferPointer { pa in x.withUnsafeBufferPointer { BFloat16RowKernels.dot(pa.baseAddress!, $0.baseAddress!, n) } }
        #expect(abs(Double(dot) - reference) <= 1e-6 * magnitude + 1e-30, "n=\(n): \(dot) vs \(reference)")

        var y = x
        let alpha: Float = -0.37
        a.withUnsafeBufferPointer { pa in y.withUnsafeMutableBufferPointer { BFloat16RowKernels.axpy(alpha, pa.baseAddress!, $0.baseAddress!, n) } }
        for i in 0..<n {
            let expected = Double(x[i]) + Double(alpha) * wide[i]
            #expect(abs(Double(y[i]) - expected) <= 1e-6 * (abs(Double(x[i])) + abs(Double(alpha) * wide[i])), "n=\(n), i=\(i)")
        }
    }
}
