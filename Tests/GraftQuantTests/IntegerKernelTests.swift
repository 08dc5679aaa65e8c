@testable import GraftQuant
import GraftTensor
import Testing

/// Every set of the C integer kernels this CPU runs (portable C, AVX2, AVX-512 VNNI: whichever
/// the build compiled in and the CPU has) against the Swift reference on the same quantized
/// activations, in both Q4_1 row layouts, and the quantized product against the exact one.
@Suite struct IntegerKernelTests {
    /// 9 blocks a row exercises the kernels' unpaired-block tail; 18 the four-row matrix × vector
    /// path (37 rows: nine groups of four and a single-row remainder); 48 several groups of eight
    /// and sixteen scales (SmolLM2's MLP down projection).
    @Test(arguments: [GGMLType.q4_1, .q4_0, .q8_0], [9, 18, 48])
    func everyKernelSetEqualsSwiftReference(_ type: GGMLType, blocks: Int) {
        var rng = RandomGenerator(seed: 11)
        let (rows, cols) = (37, 32 * blocks)
        let w = QuantizedMatrix(type: type, rows: rows, cols: cols,
                                bytes: Quantize.row(type, (0..<(rows * cols)).map { _ in rng.nextNormal() }))
        let x = Tensor.randn([2, cols], generator: &rng)
        let xq = QuantizedActivations(x.basePointer, rows: 2, cols: cols, nibbleOrder: type != .q8_0)
        // Q4_1 with an even block count also gets the decode row layout and its kernel.
        let repacked = w.repackedForDecoding()
        #expect((repacked.decodeRows != nil) == (type == .q4_1 && blocks % 2 == 0))
        let exact = Tensor(uninitializedShape: [2, rows])
        w.multiply(x.basePointer, n: 2, into: exact.basePointer, kernels: .exact)
        let scale = exact.toArray().map(abs).max()!
        #expect(IntegerKernels.available.first?.level == .portable)
        for kernels in IntegerKernels.available {
            for matrix in [w, repacked] {
                let out = Tensor(uninitializedShape: [2, rows])
                matrix.multiplyFewQuantized(x.basePointer, n: 2, into: out.basePointer, kernels: kernels)
                var worstReference: Float = 0, worstExact: Float = 0
                for t in 0..<2 {
                    for r in 0..<rows {
                        // Relative to the largest output: the kernels sum blocks in another order than the reference.
                        worstReference = max(worstReference, abs(out[t, r] - xq.referenceDot(type, w.row(r), row: t)) / scale)
                        worstExact = max(worstExact, abs(out[t, r] - exact[t, r]) / scale)
                    }
                }
                let layout = matrix.decodeRows == nil ? "ggml blocks" : "decode rows"
                #expect(worstReference < 1e-5, "\(kernels.name), \(layout): C kernel vs Swift reference \(worstReference)")
                #expect(worstExact < 1e-3, "\(kernels.name), \(layout): 16-bit activations vs exact \(worstExact)")
            }
            // The single-row dot kernels too (the per-row path of Q4_0 and of odd block counts).
            xq.codes.withUnsafeBufferPointer { q in
                xq.scales.withUnsafeBufferPointer { d in
                    xq.scaledSums.withUnsafeBufferPointer { s in
                        for r in [0, rows - 1] {
                            let got = xq.dot(type, w.row(r), row: 1, q: q.baseAddress!, d: d.baseAddress!, s: s.baseAddress!,
                                             kernels: kernels)
                            #expect(abs(got - xq.referenceDot(type, w.row(r), row: 1)) / scale < 1e-5, "\(kernels.name) dot, row \(r)")
                        }
                    }
                }
            }
        }
    }

    /// `fast` decodes with integer kernels only where a SIMD set is there, and never with the
    /// portable C (slower than the float kernels).
    @Test func preferredSetIsTheWidestSIMDSet() {
        let widest = IntegerKernels.available.last!
        if widest.level == .portable {
            #expect(IntegerKernels.preferred == nil)
        } else {
            #expect(IntegerKernels.preferred?.level == widest.level)
        }
    }
}

/// Products of several activation rows at once (the engine's batches) give every row the bits
/// it gets alone, in every kernel set this CPU runs: a request's tokens cannot depend on its batch.
/// 250 rows of 1,536 columns in one call cross the kernels' weight tiles (about 100 Q4_1 rows,
/// 60 Q8_0 rows); n covers groups of four with remainders of one to three, and sixteen.
@Suite struct BatchInvariantProductTests {
    @Test(arguments: [GGMLType.q4_1, .q8_0])
    func rowsAtOnceEqualRowsAlone(_ type: GGMLType) {
        var g = RandomGenerator(seed: 77)
        let (rows, cols) = (250, 1536)
        var bytes: [UInt8] = []
        for _ in 0..<rows { bytes += Quantize.row(type, (0..<cols).map { _ in g.nextUniform() - 0.5 }) }
        let plain = QuantizedMatrix(type: type, rows: rows, cols: cols, bytes: bytes)
        for matrix in [plain, plain.repackedForDecoding()] {
            for set in IntegerKernels.available {
                for n in [2, 3, 5, 6, 7, 9, 16] {
                    let x = (0..<(n * cols)).map { _ in g.nextUniform() * 2 - 1 }
                    var together = [Float](repeating: 0, count: n * rows)
                    x.withUnsafeBufferPointer { xp in
                        let xq = QuantizedActivations(xp.baseAddress!, rows: n, cols: cols, nibbleOrder: type != .q8_0)
                        together.withUnsafeMutableBufferPointer {
                            matrix.multiplyFewQuantized(xq, rows: 0..<rows, into: $0.baseAddress!, kernels: set, parallel: false)
                        }
                    }
                    for t in 0..<n {
                        var alone = [Float](repeating: 0, count: rows)
                        x.withUnsafeBufferPointer { xp in
                            alone.withUnsafeMutableBufferPointer { matrix.multiplyFewQuantized(xp.baseAddress! + t * cols, n: 1, into: $0.baseAddress!, kernels: set) }
                        }
                        #expect(Array(together[(t * rows)..<((t + 1) * rows)]).map(\.bitPattern) == alone.map(\.bitPattern), "\(type) \(set.name) n=\(n) row \(t)")
                    }
                }
            }
        }
    }
}
