import GraftTensor

/// Attention of one query row against a sequence's paged keys and values, with the arithmetic
/// of `cachedAttention` lane for lane: each key's score is Σ_c q[c]·k[c] accumulated by fused
/// multiply-adds in c order, scaled, soft-maxed over the visible keys, and the values summed two
/// keys at a time into separate accumulators. A row's result therefore depends only on its query
/// and its sequence's keys, never on which other rows share the step or how the prompt was
/// chunked (batch invariance), and equals the single-sequence decode path bit for bit.
enum PagedAttention {
    /// o[hq·d] for query `q[hq·d]` over the first `visible` tokens of `table`.
    static func attend(q: UnsafePointer<Float>, pool: KVBlockPool, layer: Int, table: [Int32], visible: Int,
                       heads: Int, scores: UnsafeMutablePointer<Float>, head h: Int, into o: UnsafeMutablePointer<Float>) {
        let (hkv, d, bs) = (pool.kvHeads, pool.headDim, KVBlockPool.blockSize)
        let kvh = h / (heads / hkv)
        let s = 1 / Float(d).squareRoot()
        let query = q + h * d
        let pages = KVBlockPool.blocks(for: visible)
        for p in 0..<pages {
            let kt = pool.keyBlock(layer: layer, table[p]) + kvh * d * bs
            var acc = SIMD16<Float>(repeating: 0)
            for c in 0..<d {
                acc.addProduct(SIMD16(repeating: query[c]), UnsafeRawPointer(kt + c * bs).loadUnaligned(as: SIMD16<Float>.self))
            }
            UnsafeMutableRawPointer(scores + p * bs).storeBytes(of: acc * s, as: SIMD16<Float>.self)
        }
        Kernels.softmax(scores, scores, visible)
        let stride = hkv * d
        func row(_ key: Int) -> UnsafePointer<Float> {
            UnsafePointer(pool.valueBlock(layer: layer, table[key / bs]) + (key % bs) * stride + kvh * d)
        }
        weightedValues(scores, count: visible, d: d, into: o + h * d, row: row)
    }
}
