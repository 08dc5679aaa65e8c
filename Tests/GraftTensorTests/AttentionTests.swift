import GraftTensor
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct AttentionTests {
    /// Attention written out with the tensor ops (repeat KV heads, QKᵀ, mask, softmax, ·V).
    func composed(_ q: Tensor, _ k: Tensor, _ v: Tensor, windows: (Int, Int) -> Range<Int>) -> Tensor {
        let (bs, tq, hq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let (tk, hkv) = (k.shape[1], k.shape[2])
        let group = hq / hkv
        var maskValues = [Float](repeating: -1e30, count: bs * tq * tk)
        for b in 0..<bs { for i in 0..<tq { for j in windows(b, i) { maskValues[(b * tq + i) * tk + j] = 0 } } }
        let mask = Tensor(maskValues, shape: [bs, 1, tq, tk])
        var heads: [Tensor] = []
        for h in 0..<hq {
            let qh = q.slice(axis: 2, h..<(h + 1)).reshaped([bs, tq, d])
            let kh = k.slice(axis: 2, (h / group)..<(h / group + 1)).reshaped([bs, tk, d])
            let vh = v.slice(axis: 2, (h / group)..<(h / group + 1)).reshaped([bs, tk, d])
            let s = matmul(qh, kh, transposeB: true) / Float(d).squareRoot()
            let p = (s.reshaped([bs, 1, tq, tk]) + mask).softmax().reshaped([bs, tq, tk])
            heads.append(matmul(p, vh).reshaped([bs, tq, 1, d]))
        }
        return Tensor.concat(heads, axis: 2)
    }

    @Test func causalGroupedQueryAttention() {
        let q = randomTensor([2, 5, 6, 4], seed: 30), k = randomTensor([2, 5, 2, 4], seed: 31)
        let v = randomTensor([2, 5, 2, 4], seed: 32)
        let fused = scaledDotProductAttention(q: q, k: k, v: v)
        let ref = composed(q, k, v) { _, i in 0..<(i + 1) }
        expectClose(fused.toArray(), ref.toArray(), tolerance: 1e-5)
        checkGradients([q, k, v]) { scaledDotProductAttention(q: $0[0], k: $0[1], v: $0[2]) }
    }

    /// Many rows: several blocks of 8 queries, key spans padded to 16, head sizes below and above
    /// one vector, packed segments; gradients against the composed ops' autograd.
    @Test(arguments: [(2, 21, 4, 2, 8, false), (1, 40, 3, 1, 24, true), (3, 17, 2, 2, 16, false)])
    func manyRowsEqualComposedOps(_ bs: Int, _ t: Int, _ hq: Int, _ hkv: Int, _ d: Int, _ packed: Bool) {
        let q = randomTensor([bs, t, hq, d], seed: 40), k = randomTensor([bs, t, hkv, d], seed: 41)
        let v = randomTensor([bs, t, hkv, d], seed: 42), weights = randomTensor([bs, t, hq, d], seed: 43)
        [q, k, v].forEach { $0.requiresGrad = true }
        // Packed: a new example starts every 13 tokens.
        let segments = (0..<(bs * t)).map { Int32(($0 % t) / 13) }
        let mask: AttentionMask = packed ? .causalSegments(segments) : .causal
        let fused = scaledDotProductAttention(q: q, k: k, v: v, mask: mask)
        let ref = composed(q, k, v) { _, i in (packed ? i / 13 * 13 : 0)..<(i + 1) }
        expectClose(fused.toArray(), ref.toArray(), tolerance: 1e-5)
        (fused * weights).sum().backward()
        let fusedGrads = [q, k, v].map { $0.grad!.toArray() }
        [q, k, v].forEach { $0.zeroGrad() }
        (ref * weights).sum().backward()
        for (mine, theirs) in zip(fusedGrads, [q, k, v].map { $0.grad!.toArray() }) {
            expectClose(mine, theirs, tolerance: 1e-5)
        }
    }

    @Test func decodeAgainstLongerKeys() {
        let q = randomTensor([1, 2, 4, 8], seed: 33), k = randomTensor([1, 6, 1, 8], seed: 34)
        let v = randomTensor([1, 6, 1, 8], seed: 35)
        let fused = scaledDotProductAttention(q: q, k: k, v: v)
        let ref = composed(q, k, v) { _, i in 0..<(4 + i + 1) }
        expectClose(fused.toArray(), ref.toArray(), tolerance: 1e-5)
        checkGradients([q, k, v]) { scaledDotProductAttention(q: $0[0], k: $0[1], v: $0[2]) }
    }

    @Test func packedSegmentsNeverAttendAcrossExamples() {
        let segments: [Int32] = [0, 0, 0, 1, 1, 2, 7, 7, 7, 7, 7, 7]
        let q = randomTensor([2, 6, 2, 4], seed: 36), k = randomTensor([2, 6, 2, 4], seed: 37)
        let v = randomTensor([2, 6, 2, 4], seed: 38)
        let fused = scaledDotProductAttention(q: q, k: k, v: v, mask: .causalSegments(segments))
        let starts = [[0, 0, 0, 3, 3, 5], [0, 0, 0, 0, 0, 0]]
        let ref = composed(q, k, v) { b, i in starts[b][i]..<(i + 1) }
        expectClose(fused.toArray(), ref.toArray(), tolerance: 1e-5)
        checkGradients([q, k, v]) { scaledDotProductAttention(q: $0[0], k: $0[1], v: $0[2], mask: .causalSegments(segments)) }
        // The second example of row 0 is the same computation as attending over it alone.
        let alone = scaledDotProductAttention(q: q.slice(axis: 0, 0..<1).slice(axis: 1, 3..<5),
                                              k: k.slice(axis: 0, 0..<1).slice(axis: 1, 3..<5),
                                              v: v.slice(axis: 0, 0..<1).slice(axis: 1, 3..<5))
        expectClose(fused.slice(axis: 0, 0..<1).slice(axis: 1, 3..<5).contiguous().toArray(), alone.toArray(), tolerance: 1e-6)
    }
}

@Suite struct RoPETests {
    @Test(arguments: [RoPELayout.rotateHalf, .interleaved])
    func gradients(_ layout: RoPELayout) {
        let x = randomTensor([2, 3, 2, 8], seed: 40)
        checkGradients([x]) { rope($0[0], positions: [0, 5, 17], base: 10000, layout: layout) }
        checkGradients([x]) { rope($0[0], positions: [3, 4, 5, 9, 10, 11], base: 500, layout: layout) }
    }

    @Test func rotateHalfMatchesDefinition() {
        let x = randomTensor([1, 1, 1, 4], seed: 41)
        let y = rope(x, positions: [7], base: 10000, layout: .rotateHalf)
        let theta0 = 7.0, theta1 = 7.0 / 100.0   // base^(-2i/d) for i = 0, 1 with d = 4
        #expect(abs(Double(y[0, 0, 0, 0]) - (Double(x[0, 0, 0, 0]) * cos(theta0) - Double(x[0, 0, 0, 2]) * sin(theta0))) < 1e-5)
        #expect(abs(Double(y[0, 0, 0, 3]) - (Double(x[0, 0, 0, 3]) * cos(theta1) + Double(x[0, 0, 0, 1]) * sin(theta1))) < 1e-5)
    }

    /// formats.md §7.3: rope_interleaved(permute(x)) == permute(rope_rotateHalf(x)), with GGUF
    /// element 2i + j = HF element j·(d/2) + i.
    @Test func layoutsAgreeUnderTheGGUFPermutation() {
        let d = 8
        let x = randomTensor([1, 3, 2, d], seed: 42)
        let perm = (0..<d).map { e in (e % 2) * (d / 2) + e / 2 }
        func permute(_ t: Tensor) -> [Float] {
            let v = t.contiguous().toArray()
            return (0..<v.count).map { idx in v[(idx / d) * d + perm[idx % d]] }
        }
        let xg = Tensor(permute(x), shape: x.shape)
        let a = rope(xg, positions: [1, 2, 40], base: 10000, layout: .interleaved).toArray()
        let b = permute(rope(x, positions: [1, 2, 40], base: 10000, layout: .rotateHalf))
        expectClose(a, b, tolerance: 1e-6)
    }
}

@Suite struct LossTests {
    @Test func crossEntropyIgnoresMaskedTargets() {
        let logits = randomTensor([5, 7], seed: 50, std: 2)
        let targets: [Int32] = [3, -100, 0, 6, -100]
        checkGradients([logits]) { crossEntropy(logits: $0[0], targets: targets).reshaped([1]) }
        checkGradients([logits]) { crossEntropy(logits: $0[0], targets: targets, reduction: .sum).reshaped([1]) }
        // Against the definition: mean of −log softmax at the target over the 3 kept rows.
        let p = logits.softmax()
        let expected = -[(0, 3), (2, 0), (3, 6)].map { referenceLog(p[$0.0, $0.1]) }.reduce(0, +) / 3
        #expect(abs(crossEntropy(logits: logits, targets: targets).item() - expected) < 1e-5)
    }

    @Test func dropoutIsSeededAndUnbiased() {
        let x = Tensor.ones([200, 100])
        var g1 = RandomGenerator(seed: 5), g2 = RandomGenerator(seed: 5)
        let a = dropout(x, p: 0.25, generator: &g1).toArray()
        let b = dropout(x, p: 0.25, generator: &g2).toArray()
        #expect(a == b)
        let zeros = a.filter { $0 == 0 }.count
        #expect(abs(Double(zeros) / 20000 - 0.25) < 0.02)
        #expect(Set(a) == [0, Float(1) / 0.75])
        let y = randomTensor([4, 6], seed: 51)
        checkGradients([y]) { t in
            var g = RandomGenerator(seed: 8)
            return dropout(t[0], p: 0.5, generator: &g)
        }
    }
}

func referenceLog(_ x: Float) -> Float { logf(x) }

/// Decode attention over a transposed key cache equals the reference attention over the same
/// keys (causal, grouped heads), at lengths that are and are not multiples of 16 and 64 (the
/// kernel's blocks of keys) and head sizes below, at and above 64 (its blocks of columns).
@Suite struct CachedAttentionTests {
    @Test(arguments: [(1, 1, 8), (1, 16, 8), (1, 37, 8), (3, 40, 8), (2, 48, 8), (1, 150, 64), (2, 129, 64),
                      (1, 70, 80), (1, 64, 16), (3, 100, 128)])
    func equalsReferenceAttention(_ tq: Int, _ length: Int, _ d: Int) {
        var rng = RandomGenerator(seed: UInt64(length))
        let (hq, hkv, capacity) = (6, 2, 160)
        let keys = Tensor.randn([1, length, hkv, d], generator: &rng)
        let values = Tensor.randn([1, length, hkv, d], generator: &rng)
        let q = Tensor.randn([1, tq, hq, d], generator: &rng)
        let kt = Tensor.zeros([hkv, d, capacity]), vCache = Tensor.zeros([capacity, hkv, d])
        for t in 0..<length {
            for h in 0..<hkv {
                for c in 0..<d {
                    kt.basePointer[(h * d + c) * capacity + t] = keys.basePointer[(t * hkv + h) * d + c]
                    vCache.basePointer[(t * hkv + h) * d + c] = values.basePointer[(t * hkv + h) * d + c]
                }
            }
        }
        let expected = scaledDotProductAttention(q: q, k: keys, v: values, mask: .causal).toArray()
        let got = cachedAttention(q: q, transposedKeys: kt, values: vCache, length: length).toArray()
        #expect(zip(got, expected).allSatisfy { abs($0 - $1) <= 1e-5 })
    }
}
