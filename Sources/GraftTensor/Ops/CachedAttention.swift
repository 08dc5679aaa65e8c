/// Decode-time attention against a KV cache whose keys are stored transposed, `[kvHeads,
/// headDim, capacity]`: the scores of 16 keys at a time accumulate over the head dimension in
/// registers (a broadcast query element times a row of 16 keys), so no dot product ends in a
/// horizontal sum. Same result as `scaledDotProductAttention` with a causal mask (up to float
/// rounding order), for inference only (no gradient).
///
/// - q: `[1, Tq, Hq, D]`, the new tokens' queries (Tq small);
/// - transposedKeys: the cache's keys, `[Hkv, D, capacity]`, the first `length` columns valid;
/// - values: `[capacity, Hkv, D]`, the first `length` rows valid;
/// - length: cached tokens including the new ones (query i sees keys 0 … length − Tq + i).
public func cachedAttention(q: Tensor, transposedKeys: Tensor, values: Tensor, length: Int, scale: Float? = nil) -> Tensor {
    require(q.rank == 4 && q.shape[0] == 1, .invalidShape(op: "cachedAttention", shape: q.shape, reason: "q must be [1, T, H, D]"))
    let (tq, hq, d) = (q.shape[1], q.shape[2], q.shape[3])
    let (hkv, capacity) = (transposedKeys.shape[0], transposedKeys.shape[2])
    require(transposedKeys.shape[1] == d && values.shape == [capacity, hkv, d] && hq % hkv == 0 && length <= capacity && length >= tq,
            .shapeMismatch(op: "cachedAttention", lhs: q.shape, rhs: transposedKeys.shape, reason: "cache and queries do not fit"))
    let s = scale ?? 1 / Float(d).squareRoot()
    let group = hq / hkv
    let qc = q.contiguousData()
    let out = Tensor(uninitializedShape: [1, tq, hq, d])
    let (pq, pk, pv, po) = (qc.basePointer, transposedKeys.basePointer, values.basePointer, out.basePointer)
    let blocks16 = (length + 15) / 16
    // One work item per (query, head): with one new token and 9 heads over 3 KV heads, items
    // per KV head (3) would leave one of two cores idle a third of the time.
    parallelChunks(tq * hq, grain: 1) { range in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: blocks16 * 16)
        defer { scores.deallocate() }
        for item in range {
            let (i, h) = (item / hq, item % hq)
            let kvh = h / group
            let visible = length - tq + i + 1
            let kt = pk + kvh * d * capacity
            let query = pq + (i * hq + h) * d
            // Scores, 16 keys at a time.
            var j = 0
            while j < visible {
                var acc = SIMD16<Float>(repeating: 0)
                if j + 16 <= capacity {
                    for c in 0..<d {
                        acc.addProduct(SIMD16(repeating: query[c]), UnsafeRawPointer(kt + c * capacity + j).loadUnaligned(as: SIMD16<Float>.self))
                    }
                } else {
                    for lane in 0..<min(16, capacity - j) {
                        var sum: Float = 0
                        for c in 0..<d { sum += query[c] * kt[c * capacity + j + lane] }
                        acc[lane] = sum
                    }
                }
                UnsafeMutableRawPointer(scores + j).storeBytes(of: acc * s, as: SIMD16<Float>.self)
                j += 16
            }
            Kernels.softmax(scores, scores, visible)
            let o = po + (i * hq + h) * d
            o.update(repeating: 0, count: d)
            for key in 0..<visible { Kernels.axpy(scores[key], pv + (key * hkv + kvh) * d, o, d) }
        }
    }
    return out
}
