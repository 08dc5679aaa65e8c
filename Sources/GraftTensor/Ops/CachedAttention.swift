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
            // Scores, 64 keys at a time in four independent accumulators (one chain of FMAs
            // over the head dimension would wait on FMA latency), then 16 at a time.
            var j = 0
            while j + 64 <= visible {
                var a0 = SIMD16<Float>(repeating: 0), a1 = a0, a2 = a0, a3 = a0
                for c in 0..<d {
                    let qc = SIMD16<Float>(repeating: query[c])
                    let row = UnsafeRawPointer(kt + c * capacity + j)
                    a0.addProduct(qc, row.loadUnaligned(as: SIMD16<Float>.self))
                    a1.addProduct(qc, row.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
                    a2.addProduct(qc, row.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self))
                    a3.addProduct(qc, row.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self))
                }
                let out = UnsafeMutableRawPointer(scores + j)
                out.storeBytes(of: a0 * s, as: SIMD16<Float>.self)
                out.storeBytes(of: a1 * s, toByteOffset: 64, as: SIMD16<Float>.self)
                out.storeBytes(of: a2 * s, toByteOffset: 128, as: SIMD16<Float>.self)
                out.storeBytes(of: a3 * s, toByteOffset: 192, as: SIMD16<Float>.self)
                j += 64
            }
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
            let values = pv + kvh * d, stride = hkv * d
            weightedValues(scores, count: visible, d: d, into: o) { UnsafePointer(values + $0 * stride) }
        }
    }
    return out
}

/// o[0..<d] = Σ_key p[key]·row(key)[0..<d]: the output of one head, 64 columns at a time held in
/// registers while the keys stream past (two keys a step into separate accumulators, so the sums
/// do not wait on FMA latency), instead of one load-add-store of o per key. `row` gives each
/// key's value vector (a stride into one buffer, or a block of a paged cache); the arithmetic,
/// and so every bit of the result, is the same whatever the storage.
@inlinable @inline(__always)
public func weightedValues(_ p: UnsafePointer<Float>, count: Int, d: Int, into o: UnsafeMutablePointer<Float>,
                           row: (Int) -> UnsafePointer<Float>) {
    typealias V = SIMD16<Float>
    var c0 = 0
    while c0 + 64 <= d {
        var a = (V(repeating: 0), V(repeating: 0), V(repeating: 0), V(repeating: 0))
        var b = a
        var key = 0
        while key + 2 <= count {
            let (p0, p1) = (V(repeating: p[key]), V(repeating: p[key + 1]))
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
        if key < count {
            let p0 = V(repeating: p[key])
            let r0 = UnsafeRawPointer(row(key) + c0)
            a.0.addProduct(p0, r0.loadUnaligned(as: V.self))
            a.1.addProduct(p0, r0.loadUnaligned(fromByteOffset: 64, as: V.self))
            a.2.addProduct(p0, r0.loadUnaligned(fromByteOffset: 128, as: V.self))
            a.3.addProduct(p0, r0.loadUnaligned(fromByteOffset: 192, as: V.self))
        }
        let out = UnsafeMutableRawPointer(o + c0)
        out.storeBytes(of: a.0 + b.0, as: V.self)
        out.storeBytes(of: a.1 + b.1, toByteOffset: 64, as: V.self)
        out.storeBytes(of: a.2 + b.2, toByteOffset: 128, as: V.self)
        out.storeBytes(of: a.3 + b.3, toByteOffset: 192, as: V.self)
        c0 += 64
    }
    // Head sizes that are not a multiple of 64: the rest column by column block.
    if c0 < d {
        (o + c0).update(repeating: 0, count: d - c0)
        for key in 0..<count { Kernels.axpy(p[key], row(key) + c0, o + c0, d - c0) }
    }
}
