import GraftQuant
import GraftTensor
import Testing

/// The fused low-rank op against the same function written with the tensor ops, at ranks that
/// leave a partial group of eight and lengths that leave partial vectors; without dropout and
/// with it (the byte mask against the `dropout` op drawing from the same seed).
@Suite struct LoRAProductTests {
    @Test(arguments: [(11, 40, 37, true), (8, 48, 64, false), (3, 16, 32, true), (16, 33, 50, false)])
    func equalsComposedOps(_ r: Int, _ cols: Int, _ rows: Int, _ dropping: Bool) {
        var rng = RandomGenerator(seed: 21)
        let w = QuantizedMatrix(type: .f32, rows: rows, cols: cols, bytes: Quantize.row(.f32, (0..<(rows * cols)).map { _ in rng.nextNormal() }))
        let dense = w.dequantized()
        let x = Tensor.randn([2, 9, cols], generator: &rng, requiresGrad: true)
        let a = Tensor.randn([r, cols], generator: &rng, requiresGrad: true)
        let b = Tensor.randn([rows, r], generator: &rng, requiresGrad: true)
        let weights = Tensor.randn([2, 9, rows], generator: &rng)
        let s: Float = 0.7

        var draws = RandomGenerator(seed: 99)
        let mask = dropping ? DropoutMask(count: x.count, p: 0.3, generator: &draws) : nil
        let fused = loraLinear(x, dropout: mask, base: w, a: a, b: b, scaling: s)
        (fused * weights).sum().backward()
        let mine = [fused, x.grad!, a.grad!, b.grad!].map { $0.toArray() }
        [x, a, b].forEach { $0.zeroGrad() }

        var sameDraws = RandomGenerator(seed: 99)
        let droppedAgain = dropping ? dropout(x, p: 0.3, generator: &sameDraws) : x
        let composed = matmul(x, dense, transposeB: true)
            + matmul(matmul(droppedAgain, a, transposeB: true), b, transposeB: true) * s
        (composed * weights).sum().backward()
        let theirs = [composed, x.grad!, a.grad!, b.grad!].map { $0.toArray() }
        for (name, (m, t)) in zip(["y", "dx", "dA", "dB"], zip(mine, theirs)) {
            let scale = t.map(abs).max()!
            let worst = zip(m, t).map { abs($0 - $1) }.max()! / scale
            #expect(worst < 1e-5, "\(name): \(worst)")
        }
    }
}
