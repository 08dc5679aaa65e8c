import Foundation

/// Causal attention for many query rows that keeps no probability matrix: the forward saves each
/// row's log-sum-exp, and the backward recomputes the probabilities from q, k and it (as flash
/// attention does). At 512 tokens the probabilities were 9.4 MB a layer (283 MB for SmolLM2's 30)
/// and three quarters of attention's time went to GEMMs over masked-out halves and to their copies.
///
/// Work is split by (batch, head, block of 8 query rows) in the forward and by (batch, head, half of
/// the rows by work) in the backward; each block only visits the keys its rows' windows cover, so a
/// causal mask costs half of the full product. Keys and values are copied once into head-major,
/// zero-padded layouts (keys also transposed) so the inner loops are whole 16-lane vectors.
enum FusedAttention {
    typealias V = SIMD16<Float>
    static let blockRows = 8

    /// Sizes and head-major copies of k and v for one call.
    struct Operands {
        let batch: Int, tq: Int, tk: Int, hq: Int, hkv: Int, d: Int
        /// d and tk rounded up to 16.
        let dp: Int, tkp: Int
        let group: Int
        let scale: Float
        /// [B, Hkv, dp, tkp]: keys transposed, for scores.
        let keysT: Tensor
        /// [B, Hkv, tkp, dp]: values as rows, for the output.
        let values: Tensor

        init(q: Tensor, k: Tensor, v: Tensor, scale: Float) {
            (batch, tq, hq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
            (tk, hkv) = (k.shape[1], k.shape[2])
            dp = (d + 15) / 16 * 16
            tkp = (tk + 15) / 16 * 16
            group = hq / hkv
            self.scale = scale
            keysT = Tensor.zeros([batch, hkv, dp, tkp])
            values = Tensor.zeros([batch, hkv, tkp, dp])
            FusedAttention.headMajor(k.basePointer, batch: batch, t: tk, heads: hkv, d: d, into: keysT.basePointer,
                                     rowStride: 1, columnStride: tkp, headStride: dp * tkp)
            FusedAttention.headMajor(v.basePointer, batch: batch, t: tk, heads: hkv, d: d, into: values.basePointer,
                                     rowStride: dp, columnStride: 1, headStride: tkp * dp)
        }
    }

    /// Copies x [B, T, H, D] into a head-major buffer: element (b, t, h, c) goes to
    /// (b·H + h)·headStride + t·rowStride + c·columnStride.
    static func headMajor(_ x: UnsafePointer<Float>, batch: Int, t: Int, heads: Int, d: Int,
                          into dst: UnsafeMutablePointer<Float>, rowStride: Int, columnStride: Int, headStride: Int) {
        for b in 0..<batch {
            for i in 0..<t {
                for h in 0..<heads {
                    let src = x + ((b * t + i) * heads + h) * d
                    let out = dst + (b * heads + h) * headStride + i * rowStride
                    for c in 0..<d { out[c * columnStride] = src[c] }
                }
            }
        }
    }

    // MARK: Forward

    /// out = softmax(scale·q kᵀ within each row's window) v; lse[b, h, i] = the row's log Σ exp.
    static func forward(q: Tensor, operands o: Operands, windows: [(Int, Int)], out: Tensor, lse: Tensor) {
        let blocks = (o.tq + blockRows - 1) / blockRows
        let ldq = o.hq * o.d
        let (pq, po, pl) = (q.basePointer, out.basePointer, lse.basePointer)
        let (kt, vals) = (o.keysT.basePointer, o.values.basePointer)
        parallelChunks(o.batch * o.hq * blocks, grain: 1) { range in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * o.tkp)
            let acc = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * o.dp)
            defer { scores.deallocate(); acc.deallocate() }
            for item in range {
                let (bh, block) = item.quotientAndRemainder(dividingBy: blocks)
                let (b, h) = bh.quotientAndRemainder(dividingBy: o.hq)
                let kvh = h / o.group
                let first = block * blockRows, rows = min(blockRows, o.tq - first)
                let (from, to) = keySpan(windows, b: b, tq: o.tq, first: first, rows: rows, tkp: o.tkp)
                let qRows = pq + (b * o.tq + first) * ldq + h * o.d
                scoreBlock(qRows, lda: ldq, rows: rows, d: o.d, kt + (b * o.hkv + kvh) * o.dp * o.tkp, ldb: o.tkp,
                           from: from, to: to, scale: o.scale, into: scores, lds: o.tkp)
                for r in 0..<rows {
                    let (lo, hi) = windows[b * o.tq + first + r]
                    let s = scores + r * o.tkp
                    let m = Kernels.max(s + lo, hi - lo)
                    let sum = Kernels.expShifted(s + lo, m, s + lo, hi - lo)
                    Kernels.scale(s + lo, 1 / sum, hi - lo)
                    if lo > from { (s + from).update(repeating: 0, count: lo - from) }
                    if to > hi { (s + hi).update(repeating: 0, count: to - hi) }
                    pl[(b * o.hq + h) * o.tq + first + r] = m + Foundation.log(sum)
                }
                weightedRows(scores, ldp: o.tkp, rows: rows, from: from, to: to,
                             vals + (b * o.hkv + kvh) * o.tkp * o.dp, ldv: o.dp, dp: o.dp, into: acc, ldo: o.dp)
                for r in 0..<rows {
                    (po + (b * o.tq + first + r) * ldq + h * o.d).update(from: acc + r * o.dp, count: o.d)
                }
            }
        }
    }

    /// The keys a block of rows attends to, widened to whole vectors: [lo rounded down to 16,
    /// hi rounded up to 16) over the rows' windows.
    @inline(__always)
    static func keySpan(_ windows: [(Int, Int)], b: Int, tq: Int, first: Int, rows: Int, tkp: Int) -> (Int, Int) {
        var lo = Int.max, hi = 0
        for r in 0..<rows {
            let w = windows[b * tq + first + r]
            lo = min(lo, w.0)
            hi = max(hi, w.1)
        }
        return (lo / 16 * 16, min(tkp, (hi + 15) / 16 * 16))
    }

    // MARK: Backward

    /// Gradients of q, k and v ([B, T, H, D] each) for the output gradient g, from the forward's
    /// inputs, output and log-sum-exps.
    static func backward(g: Tensor, q: Tensor, operands o: Operands, windows: [(Int, Int)], out: Tensor, lse: Tensor)
        -> (Tensor, Tensor, Tensor) {
        let ldq = o.hq * o.d
        // Head-major padded copies: q and g as rows (dK, dV), k as rows (dQ), v transposed (dP).
        let queries = Tensor.zeros([o.batch, o.hq, o.tq, o.dp])
        let grads = Tensor.zeros([o.batch, o.hq, o.tq, o.dp])
        let keys = Tensor.zeros([o.batch, o.hkv, o.tkp, o.dp])
        let valuesT = Tensor.zeros([o.batch, o.hkv, o.dp, o.tkp])
        headMajor(q.basePointer, batch: o.batch, t: o.tq, heads: o.hq, d: o.d, into: queries.basePointer,
                  rowStride: o.dp, columnStride: 1, headStride: o.tq * o.dp)
        headMajor(g.basePointer, batch: o.batch, t: o.tq, heads: o.hq, d: o.d, into: grads.basePointer,
                  rowStride: o.dp, columnStride: 1, headStride: o.tq * o.dp)
        for bh in 0..<(o.batch * o.hkv) {
            let src = o.keysT.basePointer + bh * o.dp * o.tkp, dst = keys.basePointer + bh * o.tkp * o.dp
            for c in 0..<o.dp { for j in 0..<o.tkp { dst[j * o.dp + c] = src[c * o.tkp + j] } }
            let vs = o.values.basePointer + bh * o.tkp * o.dp, vt = valuesT.basePointer + bh * o.dp * o.tkp
            for j in 0..<o.tkp { for c in 0..<o.dp { vt[c * o.tkp + j] = vs[j * o.dp + c] } }
        }
        // Each (batch, head) is split in two at the row where half of its key visits are done.
        let halves = (0..<o.batch).map { b in rowSplittingWork(windows, b: b, tq: o.tq) }
        let items = o.batch * o.hq * 2
        let keyGrads = Tensor.zeros([items, o.tkp, o.dp]), valueGrads = Tensor.zeros([items, o.tkp, o.dp])
        let queryGrads = Tensor.zeros([o.batch, o.hq, o.tq, o.dp])
        let (pg, po, pl) = (g.basePointer, out.basePointer, lse.basePointer)
        parallelChunks(items, grain: 1) { range in
            let probs = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * o.tkp)
            let dScores = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * o.tkp)
            defer { probs.deallocate(); dScores.deallocate() }
            for item in range {
                let (bh, half) = item.quotientAndRemainder(dividingBy: 2)
                let (b, h) = bh.quotientAndRemainder(dividingBy: o.hq)
                let kvh = h / o.group
                let rowRange = half == 0 ? 0..<halves[b] : halves[b]..<o.tq
                let kt = o.keysT.basePointer + (b * o.hkv + kvh) * o.dp * o.tkp
                let vt = valuesT.basePointer + (b * o.hkv + kvh) * o.dp * o.tkp
                let kRows = keys.basePointer + (b * o.hkv + kvh) * o.tkp * o.dp
                let qHead = queries.basePointer + bh * o.tq * o.dp, gHead = grads.basePointer + bh * o.tq * o.dp
                let dk = keyGrads.basePointer + item * o.tkp * o.dp, dv = valueGrads.basePointer + item * o.tkp * o.dp
                var first = rowRange.lowerBound
                while first < rowRange.upperBound {
                    let rows = min(blockRows, rowRange.upperBound - first)
                    let (from, to) = keySpan(windows, b: b, tq: o.tq, first: first, rows: rows, tkp: o.tkp)
                    scoreBlock(qHead + first * o.dp, lda: o.dp, rows: rows, d: o.dp, kt, ldb: o.tkp,
                               from: from, to: to, scale: o.scale, into: probs, lds: o.tkp)
                    scoreBlock(gHead + first * o.dp, lda: o.dp, rows: rows, d: o.dp, vt, ldb: o.tkp,
                               from: from, to: to, scale: 1, into: dScores, lds: o.tkp)
                    for r in 0..<rows {
                        let i = first + r
                        let (lo, hi) = windows[b * o.tq + i]
                        let p = probs + r * o.tkp, ds = dScores + r * o.tkp
                        _ = Kernels.expShifted(p + lo, pl[bh * o.tq + i], p + lo, hi - lo)
                        if lo > from { (p + from).update(repeating: 0, count: lo - from) }
                        if to > hi { (p + hi).update(repeating: 0, count: to - hi) }
                        // D = dO·O = Σ_j p_j dP_j; dS = p ⊙ (dP − D) · scale.
                        let rowOffset = (b * o.tq + i) * ldq + h * o.d
                        let dot = Kernels.dot(pg + rowOffset, po + rowOffset, o.d)
                        softmaxGradient(p, ds, from: from, to: to, dot: dot, scale: o.scale)
                    }
                    weightedRows(dScores, ldp: o.tkp, rows: rows, from: from, to: to, kRows, ldv: o.dp, dp: o.dp,
                                 into: queryGrads.basePointer + bh * o.tq * o.dp + first * o.dp, ldo: o.dp)
                    accumulateOuter(dScores, ldw: o.tkp, rows: rows, from: from, to: to, qHead + first * o.dp,
                                    ldx: o.dp, dp: o.dp, into: dk, ldacc: o.dp)
                    accumulateOuter(probs, ldw: o.tkp, rows: rows, from: from, to: to, gHead + first * o.dp,
                                    ldx: o.dp, dp: o.dp, into: dv, ldacc: o.dp)
                    first += rows
                }
            }
        }
        let gq = Tensor(uninitializedShape: q.shape)
        let gk = Tensor.zeros([o.batch, o.tk, o.hkv, o.d]), gv = Tensor.zeros([o.batch, o.tk, o.hkv, o.d])
        for b in 0..<o.batch {
            for h in 0..<o.hq {
                let src = queryGrads.basePointer + (b * o.hq + h) * o.tq * o.dp
                for i in 0..<o.tq { (gq.basePointer + (b * o.tq + i) * ldq + h * o.d).update(from: src + i * o.dp, count: o.d) }
                let kvh = h / o.group
                for half in 0..<2 {
                    let item = (b * o.hq + h) * 2 + half
                    let dk = keyGrads.basePointer + item * o.tkp * o.dp, dv = valueGrads.basePointer + item * o.tkp * o.dp
                    for j in 0..<o.tk {
                        let at = ((b * o.tk + j) * o.hkv + kvh) * o.d
                        Kernels.add(gk.basePointer + at, dk + j * o.dp, gk.basePointer + at, o.d)
                        Kernels.add(gv.basePointer + at, dv + j * o.dp, gv.basePointer + at, o.d)
                    }
                }
            }
        }
        return (gq, gk, gv)
    }

    /// The first row of batch row b's second half: where the running count of keys visited
    /// passes half of the total (a multiple of 8, so blocks stay whole).
    static func rowSplittingWork(_ windows: [(Int, Int)], b: Int, tq: Int) -> Int {
        var total = 0
        for i in 0..<tq { total += windows[b * tq + i].1 - windows[b * tq + i].0 }
        var running = 0
        for i in 0..<tq {
            running += windows[b * tq + i].1 - windows[b * tq + i].0
            if 2 * running >= total { return min(tq, (i + 1 + blockRows - 1) / blockRows * blockRows) }
        }
        return tq
    }

    /// ds[j] = p[j]·(ds[j] − dot)·scale over [from, to) (p is zero outside the window, so ds is too).
    @inline(__always)
    static func softmaxGradient(_ p: UnsafePointer<Float>, _ ds: UnsafeMutablePointer<Float>, from: Int, to: Int,
                                dot: Float, scale: Float) {
        let dv = V(repeating: dot), sv = V(repeating: scale)
        var j = from
        while j < to {
            Kernels.store(Kernels.load(p + j) * (Kernels.load(ds + j) - dv) * sv, ds + j)
            j += 16
        }
    }

    // MARK: Micro-kernels (8 rows at a time; rows past `rows` repeat the last and are not stored)

    typealias Row = UnsafePointer<Float>

    /// Pointers to rows 0…7 of `base` (`ld` apart), rows past `rows` repeating the last one.
    @inline(__always)
    static func eightRows(_ base: Row, _ ld: Int, _ rows: Int) -> (Row, Row, Row, Row, Row, Row, Row, Row) {
        let last = rows - 1
        func row(_ r: Int) -> Row { base + min(r, last) * ld }
        return (row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
    }

    /// Stores the first `rows` of eight vectors at `base`, `ld` apart.
    @inline(__always)
    static func storeRows(_ v: (V, V, V, V, V, V, V, V), _ base: UnsafeMutablePointer<Float>, _ ld: Int, _ rows: Int) {
        Kernels.store(v.0, base)
        if rows > 1 { Kernels.store(v.1, base + ld) }
        if rows > 2 { Kernels.store(v.2, base + 2 * ld) }
        if rows > 3 { Kernels.store(v.3, base + 3 * ld) }
        if rows > 4 { Kernels.store(v.4, base + 4 * ld) }
        if rows > 5 { Kernels.store(v.5, base + 5 * ld) }
        if rows > 6 { Kernels.store(v.6, base + 6 * ld) }
        if rows > 7 { Kernels.store(v.7, base + 7 * ld) }
    }

    /// s[r][j] = scale · Σ_c a[r][c]·bt[c][j] for j in [from, to) (whole vectors).
    @inline(__always)
    static func scoreBlock(_ a: UnsafePointer<Float>, lda: Int, rows: Int, d: Int, _ bt: UnsafePointer<Float>,
                           ldb: Int, from: Int, to: Int, scale: Float, into s: UnsafeMutablePointer<Float>, lds: Int) {
        let (a0, a1, a2, a3, a4, a5, a6, a7) = eightRows(a, lda, rows)
        var j = from
        while j < to {
            var c0 = V(), c1 = V(), c2 = V(), c3 = V(), c4 = V(), c5 = V(), c6 = V(), c7 = V()
            var col = bt + j
            for c in 0..<d {
                let x = Kernels.load(col)
                c0 = c0.addingProduct(a0[c], x); c1 = c1.addingProduct(a1[c], x)
                c2 = c2.addingProduct(a2[c], x); c3 = c3.addingProduct(a3[c], x)
                c4 = c4.addingProduct(a4[c], x); c5 = c5.addingProduct(a5[c], x)
                c6 = c6.addingProduct(a6[c], x); c7 = c7.addingProduct(a7[c], x)
                col += ldb
            }
            let sv = V(repeating: scale)
            storeRows((c0 * sv, c1 * sv, c2 * sv, c3 * sv, c4 * sv, c5 * sv, c6 * sv, c7 * sv), s + j, lds, rows)
            j += 16
        }
    }

    /// o[r][c] = Σ_j p[r][j]·v[j][c] for j in [from, to), all dp columns.
    @inline(__always)
    static func weightedRows(_ p: UnsafePointer<Float>, ldp: Int, rows: Int, from: Int, to: Int,
                             _ v: UnsafePointer<Float>, ldv: Int, dp: Int, into o: UnsafeMutablePointer<Float>, ldo: Int) {
        let (p0, p1, p2, p3, p4, p5, p6, p7) = eightRows(p, ldp, rows)
        var c = 0
        while c < dp {
            var c0 = V(), c1 = V(), c2 = V(), c3 = V(), c4 = V(), c5 = V(), c6 = V(), c7 = V()
            var row = v + from * ldv + c
            for j in from..<to {
                let x = Kernels.load(row)
                c0 = c0.addingProduct(p0[j], x); c1 = c1.addingProduct(p1[j], x)
                c2 = c2.addingProduct(p2[j], x); c3 = c3.addingProduct(p3[j], x)
                c4 = c4.addingProduct(p4[j], x); c5 = c5.addingProduct(p5[j], x)
                c6 = c6.addingProduct(p6[j], x); c7 = c7.addingProduct(p7[j], x)
                row += ldv
            }
            storeRows((c0, c1, c2, c3, c4, c5, c6, c7), o + c, ldo, rows)
            c += 16
        }
    }

    /// acc[j][c] += Σ_r w[r][j]·x[r][c] for j in [from, to): the key and value gradients.
    @inline(__always)
    static func accumulateOuter(_ w: UnsafePointer<Float>, ldw: Int, rows: Int, from: Int, to: Int,
                                _ x: UnsafePointer<Float>, ldx: Int, dp: Int, into acc: UnsafeMutablePointer<Float>,
                                ldacc: Int) {
        let (w0, w1, w2, w3, w4, w5, w6, w7) = eightRows(w, ldw, rows)
        var c = 0
        while c < dp {
            // Rows past `rows` weigh zero.
            @inline(__always) func row(_ r: Int) -> V { r < rows ? Kernels.load(x + r * ldx + c) : V() }
            let x0 = row(0), x1 = row(1), x2 = row(2), x3 = row(3), x4 = row(4), x5 = row(5), x6 = row(6), x7 = row(7)
            var out = acc + from * ldacc + c
            for j in from..<to {
                // Four independent pairs, summed as a tree: a chain of eight FMAs per key was
                // latency-bound.
                let s01 = (x0 * w0[j]).addingProduct(w1[j], x1), s23 = (x2 * w2[j]).addingProduct(w3[j], x3)
                let s45 = (x4 * w4[j]).addingProduct(w5[j], x5), s67 = (x6 * w6[j]).addingProduct(w7[j], x7)
                Kernels.store(Kernels.load(out) + ((s01 + s23) + (s45 + s67)), out)
                out += ldacc
            }
            c += 16
        }
    }
}
