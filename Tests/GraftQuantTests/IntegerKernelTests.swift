import GraftQuant
import GraftTensor
import Testing

/// The C integer kernels (AVX-512 VNNI where compiled in) against the Swift reference on the same
/// quantized activations, and the quantized product against the exact one.
@Suite struct IntegerKernelTests {
    /// 9 blocks a row exercises the kernels' unpaired-block tail; 18 the four-row matrix × vector
    /// path (37 rows: nine groups of four and a single-row remainder).
    @Test(arguments: [GGMLType.q4_1, .q4_0, .q8_0], [9, 18])
    func cKernelEqualsSwiftReference(_ type: GGMLType, blocks: Int) {
        var rng = RandomGenerator(seed: 11)
        let (rows, cols) = (37, 32 * blocks)
        let w = QuantizedMatrix(type: type, rows: rows, cols: cols,
                                bytes: Quantize.row(type, (0..<(rows * cols)).map { _ in rng.nextNormal() }))
        let x = Tensor.randn([2, cols], generator: &rng)
        let xq = QuantizedActivations(x.basePointer, rows: 2, cols: cols, nibbleOrder: type != .q8_0)
        let fast = Tensor(uninitializedShape: [2, rows]), exact = Tensor(uninitializedShape: [2, rows])
        let repacked = Tensor(uninitializedShape: [2, rows])
        w.multiply(x.basePointer, n: 2, into: fast.basePointer, kernels: .fast)
        // Q4_1 with an even block count also gets the decode row layout and its kernel.
        let prepared = w.preparedForDecoding()
        #expect((prepared.decodeRows != nil) == (type == .q4_1 && blocks % 2 == 0))
        prepared.multiply(x.basePointer, n: 2, into: repacked.basePointer, kernels: .fast)
        w.multiply(x.basePointer, n: 2, into: exact.basePointer, kernels: .exact)
        var worstReference: Float = 0, worstExact: Float = 0
        let scale = exact.toArray().map(abs).max()!
        for t in 0..<2 {
            for r in 0..<rows {
                let ref = xq.referenceDot(type, w.row(r), row: t)
                // Relative to the largest output: the kernels sum blocks in another order than the reference.
                worstReference = max(worstReference, abs(fast[t, r] - ref) / scale, abs(repacked[t, r] - ref) / scale)
                worstExact = max(worstExact, abs(fast[t, r] - exact[t, r]) / scale)
            }
        }
        #expect(worstReference < 1e-5, "C kernel vs Swift reference: \(worstReference) (VNNI: \(QuantizedActivations.hasVNNI))")
        #expect(worstExact < 0.02, "8-bit activations vs exact: \(worstExact)")
    }
}
