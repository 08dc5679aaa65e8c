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
            // Zeros only where there is padding to fill; the copies write everything else.
            let padded = dp != d || tkp != tk
            keysT = padded ? Tensor.zeros([batch, hkv, dp, tkp]) : Tensor(uninitializedShape: [batch, hkv, dp, tkp])
            values = padded ? Tensor.zeros([batch, hkv, tkp, dp]) : Tensor(uninitializedShape: [batch, hkv, tkp, dp])
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
        // Only padded columns need zeros; keys and valuesT are transposed from padded copies whole.
        let queries = o.dp != o.d ? Tensor.zeros([o.batch, o.hq, o.tq, o.dp]) : Tensor(uninitializedShape: [o.batch, o.hq, o.tq, o.dp])
        let grads = o.dp != o.d ? Tensor.zeros([o.batch, o.hq, o.tq, o.dp]) : Tensor(uninitializedShape: [o.batch, o.hq, o.tq, o.dp])
        let keys = Tensor(uninitializedShape: [o.batch, o.hkv, o.tkp, o.dp])
        let valuesT = Tensor(uninitializedShape: [o.batch, o.hkv, o.dp, o.tkp])
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
        // Each item's key and value gradients cover the keys its rows reach; each worker zeroes
        // its items' own (a serial memset of all of them cost 4% of a training step).
        func rows(_ item: Int) -> Range<Int> {
            let b = item / 2 / o.hq
            return item % 2 == 0 ? 0..<halves[b] : halves[b]..<o.tq
        }
        let reach = (0..<items).map { item in
            rows(item).isEmpty ? 0 : keySpan(windows, b: item / 2 / o.hq, tq: o.tq, first: rows(item).lowerBound,
                                             rows: rows(item).count, tkp: o.tkp).1
        }
        let keyGrads = Tensor(uninitializedShape: [items, o.tkp, o.dp]), valueGrads = Tensor(uninitializedShape: [items, o.tkp, o.dp])
        let queryGrads = Tensor(uninitializedShape: [o.batch, o.hq, o.tq, o.dp])
        let (pg, po, pl) = (g.basePointer, out.basePointer, lse.basePointer)
        parallelChunks(items, grain: 1) { range in
            let probs = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * o.tkp)
            let dScores = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * o.tkp)
            defer { probs.deallocate(); dScores.deallocate() }
            for item in range {
                let (bh, half) = item.quotientAndRemainder(dividingBy: 2)
                let (b, h) = bh.quotientAndRemainder(dividingBy: o.hq)
                let kvh = h / o.group
                let rowRange = rows(item)
                let kt = o.keysT.basePointer + (b * o.hkv + kvh) * o.dp * o.tkp
                let vt = valuesT.basePointer + (b * o.hkv + kvh) * o.dp * o.tkp
                let kRows = keys.basePointer + (b * o.hkv + kvh) * o.tkp * o.dp
                let qHead = queries.basePointer + bh * o.tq * o.dp, gHead = grads.basePointer + bh * o.tq * o.dp
                let dk = keyGrads.basePointer + item * o.tkp * o.dp, dv = valueGrads.basePointer + item * o.tkp * o.dp
                dk.update(repeating: 0, count: reach[item] * o.dp)
                dv.update(repeating: 0, count: reach[item] * o.dp)
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
                    for j in 0..<min(o.tk, reach[item]) {
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
    static func eightRows(_ base: Row, _ ld: Int, _ rows: Int) -> EightRows {
        let last = rows - 1
        func row(_ r: Int) -> Row { base + min(r, last) * ld }
        return (row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
    }

    /// Stores the first `rows` of eight vectors at `base`, `ld` apart.
    @inline(__always)
    static func storeRows(_ v: Eight, _ base: UnsafeMutablePointer<Float>, _ ld: Int, _ rows: Int) {
        Kernels.store(v.0, base)
        if rows > 1 { Kernels.store(v.1, base + ld) }
        if rows > 2 { Kernels.store(v.2, base + 2 * ld) }
        if rows > 3 { Kernels.store(v.3, base + 3 * ld) }
        if rows > 4 { Kernels.store(v.4, base + 4 * ld) }
        if rows > 5 { Kernels.store(v.5, base + 5 * ld) }
        if rows > 6 { Kernels.store(v.6, base + 6 * ld) }
        if rows > 7 { Kernels.store(v.7, base + 7 * ld) }
    }

    typealias Eight = (V, V, V, V, V, V, V, V)
    typealias EightRows = (Row, Row, Row, Row, Row, Row, Row, Row)

    /// Σ_t a[r][t]·b[t][0..<32] for the eight rows r over t in `range`, as two vectors a row; `b`
    /// points at row `range.lowerBound` of the 32-column panel, rows `ldb` apart. Sixteen
    /// accumulators: two vector loads per eight broadcasts.
    @inline(__always)
    static func rowsTimesPanel(_ a: EightRows, _ range: Range<Int>, _ b: UnsafePointer<Float>, ldb: Int) -> (Eight, Eight) {
        let (a0, a1, a2, a3, a4, a5, a6, a7) = a
        var c0 = V(), c1 = V(), c2 = V(), c3 = V(), c4 = V(), c5 = V(), c6 = V(), c7 = V()
        var e0 = V(), e1 = V(), e2 = V(), e3 = V(), e4 = V(), e5 = V(), e6 = V(), e7 = V()
        var row = b
        for t in range {
            let x = Kernels.load(row), y = Kernels.load(row + 16)
            let (q0, q1, q2, q3) = (a0[t], a1[t], a2[t], a3[t])
            c0 = c0.addingProduct(q0, x); e0 = e0.addingProduct(q0, y)
            c1 = c1.addingProduct(q1, x); e1 = e1.addingProduct(q1, y)
            c2 = c2.addingProduct(q2, x); e2 = e2.addingProduct(q2, y)
            c3 = c3.addingProduct(q3, x); e3 = e3.addingProduct(q3, y)
            let (q4, q5, q6, q7) = (a4[t], a5[t], a6[t], a7[t])
            c4 = c4.addingProduct(q4, x); e4 = e4.addingProduct(q4, y)
            c5 = c5.addingProduct(q5, x); e5 = e5.addingProduct(q5, y)
            c6 = c6.addingProduct(q6, x); e6 = e6.addingProduct(q6, y)
            c7 = c7.addingProduct(q7, x); e7 = e7.addingProduct(q7, y)
            row += ldb
        }
        return ((c0, c1, c2, c3, c4, c5, c6, c7), (e0, e1, e2, e3, e4, e5, e6, e7))
    }

    /// The same for a 16-column panel (the last columns when a count is an odd multiple of 16).
    @inline(__always)
    static func rowsTimesVector(_ a: EightRows, _ range: Range<Int>, _ b: UnsafePointer<Float>, ldb: Int) -> Eight {
        let (a0, a1, a2, a3, a4, a5, a6, a7) = a
        var c0 = V(), c1 = V(), c2 = V(), c3 = V(), c4 = V(), c5 = V(), c6 = V(), c7 = V()
        var row = b
        for t in range {
            let x = Kernels.load(row)
            c0 = c0.addingProduct(a0[t], x); c1 = c1.addingProduct(a1[t], x)
            c2 = c2.addingProduct(a2[t], x); c3 = c3.addingProduct(a3[t], x)
            c4 = c4.addingProduct(a4[t], x); c5 = c5.addingProduct(a5[t], x)
            c6 = c6.addingProduct(a6[t], x); c7 = c7.addingProduct(a7[t], x)
            row += ldb
        }
        return (c0, c1, c2, c3, c4, c5, c6, c7)
    }

    @inline(__always)
    static func scaled(_ v: Eight, _ s: V) -> Eight { (v.0 * s, v.1 * s, v.2 * s, v.3 * s, v.4 * s, v.5 * s, v.6 * s, v.7 * s) }

    /// s[r][j] = scale · Σ_c a[r][c]·bt[c][j] for j in [from, to) (whole vectors).
    static func scoreBlock(_ a: UnsafePointer<Float>, lda: Int, rows: Int, d: Int, _ bt: UnsafePointer<Float>,
                           ldb: Int, from: Int, to: Int, scale: Float, into s: UnsafeMutablePointer<Float>, lds: Int) {
        let rowsOfA = eightRows(a, lda, rows)
        let sv = V(repeating: scale)
        var j = from
        while j + 32 <= to {
            let (c, e) = rowsTimesPanel(rowsOfA, 0..<d, bt + j, ldb: ldb)
            storeRows(scaled(c, sv), s + j, lds, rows)
            storeRows(scaled(e, sv), s + j + 16, lds, rows)
            j += 32
        }
        if j < to { storeRows(scaled(rowsTimesVector(rowsOfA, 0..<d, bt + j, ldb: ldb), sv), s + j, lds, rows) }
    }

    /// o[r][c] = Σ_j p[r][j]·v[j][c] for j in [from, to), all dp columns.
    static func weightedRows(_ p: UnsafePointer<Float>, ldp: Int, rows: Int, from: Int, to: Int,
                             _ v: UnsafePointer<Float>, ldv: Int, dp: Int, into o: UnsafeMutablePointer<Float>, ldo: Int) {
        let rowsOfP = eightRows(p, ldp, rows)
        var c = 0
        while c + 32 <= dp {
            let (lo, hi) = rowsTimesPanel(rowsOfP, from..<to, v + from * ldv + c, ldb: ldv)
            storeRows(lo, o + c, ldo, rows)
            storeRows(hi, o + c + 16, ldo, rows)
            c += 32
        }
        if c < dp { storeRows(rowsTimesVector(rowsOfP, from..<to, v + from * ldv + c, ldb: ldv), o + c, ldo, rows) }
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
