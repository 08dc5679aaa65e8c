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
        typealias V = SIMD16<Float>
        var c0 = 0
        let out = o + h * d
        while c0 + 64 <= d {
            var a = (V(repeating: 0), V(repeating: 0), V(repeating: 0), V(repeating: 0))
            var b = a
            var key = 0
            while key + 2 <= visible {
                let (p0, p1) = (V(repeating: scores[key]), V(repeating: scores[key + 1]))
                let r0 = UnsafeRawPointer(row(key) + c0), r1 = UnsafeRawPointer(row(key + 1) + c0)
                a.0.addProduct(p0, r0.loadUnaligned(as: V.self))
                a.1.addProduct(p0, r0.loadUnaligned(fromByteOffset: 64, as: V.self))
                a.2.addProduct(p0, r0.loadUnaligned(fromByteOffset: 128, as: V.self))
                a.3.addProduct(p0, r0.loadUnaligned(fromByteOffset: 192, as: V.self))
                b.0.addProduct(p1, r1.loadUnaligned(as: V.self))
                b.1.addProduct(p1, r1.loadUnaligned(fromByteOffset: 64, as: V.self))
                b.2.addProduct(p1, r1.loadUnaligned(fromByteOffset: 128, as: V.self))
                b.3.addProduct(p1, r1.loadUnaligned(fromByteOffset: 192, as: V.self))
                key += 2
            }
            if key < visible {
                let p0 = V(repeating: scores[key])
                let r0 = UnsafeRawPointer(row(key) + c0)
                a.0.addProduct(p0, r0.loadUnaligned(as: V.self))
                a.1.addProduct(p0, r0.loadUnaligned(fromByteOffset: 64, as: V.self))
                a.2.addProduct(p0, r0.loadUnaligned(fromByteOffset: 128, as: V.self))
                a.3.addProduct(p0, r0.loadUnaligned(fromByteOffset: 192, as: V.self))
            }
            let dst = UnsafeMutableRawPointer(out + c0)
            dst.storeBytes(of: a.0 + b.0, as: V.self)
            dst.storeBytes(of: a.1 + b.1, toByteOffset: 64, as: V.self)
            dst.storeBytes(of: a.2 + b.2, toByteOffset: 128, as: V.self)
            dst.storeBytes(of: a.3 + b.3, toByteOffset: 192, as: V.self)
            c0 += 64
        }
        if c0 < d {
            (out + c0).update(repeating: 0, count: d - c0)
            for key in 0..<visible { Kernels.axpy(scores[key], row(key) + c0, out + c0, d - c0) }
        }
    }
}
