import GraftTensor
import Testing

@Suite struct ShapeGradientTests {
    @Test func sumAndMeanOverAxes() {
        let a = randomTensor([2, 3, 4], seed: 11)
        checkGradients([a]) { $0[0].sum() }
        checkGradients([a]) { $0[0].sum(axes: [1]) }
        checkGradients([a]) { $0[0].sum(axes: [0, 2], keepDims: true) }
        checkGradients([a]) { $0[0].mean(axes: [-1]) }
        checkGradients([a]) { $0[0].mean() }
        let s = a.sum(axes: [0, 2]).toArray()
        let v = a.toArray()
        for j in 0..<3 {
            var ref: Float = 0
            for i in 0..<2 { for k in 0..<4 { ref += v[i * 12 + j * 4 + k] } }
            #expect(abs(s[j] - ref) < 1e-5)
        }
    }

    @Test func reshapeTransposePermute() {
        let a = randomTensor([2, 3, 4], seed: 12)
        checkGradients([a]) { $0[0].reshaped([6, 4]) }
        checkGradients([a]) { $0[0].transposed() }
        checkGradients([a]) { $0[0].permuted([2, 0, 1]).reshaped([4, -1]) }
        let p = a.permuted([2, 0, 1])
        #expect(p.shape == [4, 2, 3])
        #expect(p[3, 1, 2] == a[1, 2, 3])
        #expect(p.storage === a.storage, "permute is a view")
        #expect(a.reshaped([24]).storage === a.storage, "reshape of a contiguous tensor is a view")
    }

    @Test func expandBroadcastsWithStrideZero() {
        let a = randomTensor([3, 1], seed: 13)
        let e = a.expanded(to: [2, 3, 4])
        #expect(e.strides == [0, 1, 0])
        #expect(e[1, 2, 3] == a[2, 0])
        checkGradients([a]) { $0[0].expanded(to: [2, 3, 4]) }
    }

    @Test func sliceAndConcat() {
        let a = randomTensor([4, 5], seed: 14), b = randomTensor([4, 2], seed: 15)
        checkGradients([a]) { $0[0].slice(axis: 1, 1..<4) }
        checkGradients([a]) { $0[0].slice(axis: 0, 2..<4).slice(axis: -1, 0..<2) }
        checkGradients([a, b]) { Tensor.concat([$0[0], $0[1], $0[0]], axis: 1) }
        let c = Tensor.concat([a, b], axis: 1)
        #expect(c.shape == [4, 7])
        #expect(c[2, 6] == b[2, 1] && c[3, 4] == a[3, 4])
        #expect(a.slice(axis: 0, 1..<3).storage === a.storage, "slice is a view")
    }

    @Test func embeddingScatterAddsRepeatedIds() {
        let w = randomTensor([6, 4], seed: 16)
        checkGradients([w]) { embedding($0[0], ids: [1, 3, 1, 5, 0, 1], shape: [2, 3]) }
        let e = embedding(w, ids: [4, 2])
        #expect(e[1, 3] == w[2, 3])
    }

    @Test func rmsNormMatchesDefinitionAndGradients() {
        let x = randomTensor([3, 8], seed: 17), w = randomTensor([8], seed: 18)
        checkGradients([x, w]) { rmsNorm($0[0], weight: $0[1], eps: 1e-5) }
        let y = rmsNorm(x, weight: w, eps: 1e-5)
        let row = (0..<8).map { x[1, $0] }
        let r = 1 / (row.map { $0 * $0 }.reduce(0, +) / 8 + 1e-5).squareRoot()
        #expect(abs(y[1, 5] - row[5] * r * w[5]) < 1e-6)
    }
}
