/// The three products of a rank-r update with many rows (LoRA's A and B, r ≪ in, out). As GEMMs
/// they are skinny (one dimension is r) and OpenBLAS spent more time packing and scaling than
/// multiplying. Here each is one pass over the big operand with eight of the r vectors held in
/// registers (ranks go in groups of eight; a short last group repeats its last vector and drops
/// the results), parallel over rows or columns so no partial sums need merging.
extension Kernels {
    typealias Eight = (V, V, V, V, V, V, V, V)

    @inline(__always)
    static func element(_ a: Eight, _ k: Int) -> V {
        switch k {
        case 0: return a.0
        case 1: return a.1
        case 2: return a.2
        case 3: return a.3
        case 4: return a.4
        case 5: return a.5
        case 6: return a.6
        default: return a.7
        }
    }

    /// out[i][k] = Σ_c x[i][c]·w[k][c], for rows i < n and k < r (x is `[n, len]`, w `[r, len]`,
    /// out `[n, r]`).
    public static func rowDots(_ x: UnsafePointer<Float>, n: Int, len: Int, _ w: UnsafePointer<Float>, r: Int,
                               into out: UnsafeMutablePointer<Float>) {
        parallelChunks(n, grain: Swift.max(1, (1 << 14) / Swift.max(len * r, 1))) { rows in
            for i in rows {
                let xi = x + i * len
                for k0 in stride(from: 0, to: r, by: 8) {
                    let g = Swift.min(8, r - k0)
                    func wk(_ k: Int) -> UnsafePointer<Float> { w + (k0 + Swift.min(k, g - 1)) * len }
                    let (w0, w1, w2, w3, w4, w5, w6, w7) = (wk(0), wk(1), wk(2), wk(3), wk(4), wk(5), wk(6), wk(7))
                    var a: Eight = (V(), V(), V(), V(), V(), V(), V(), V())
                    var c = 0
                    while c + width <= len {
                        let v = load(xi + c)
                        a.0.addProduct(v, load(w0 + c)); a.1.addProduct(v, load(w1 + c))
                        a.2.addProduct(v, load(w2 + c)); a.3.addProduct(v, load(w3 + c))
                        a.4.addProduct(v, load(w4 + c)); a.5.addProduct(v, load(w5 + c))
                        a.6.addProduct(v, load(w6 + c)); a.7.addProduct(v, load(w7 + c))
                        c += width
                    }
                    for k in 0..<g {
                        var s = horizontalSum(element(a, k))
                        for t in c..<len { s += xi[t] * wk(k)[t] }
                        out[i * r + k0 + k] = s
                    }
                }
            }
        }
    }

    /// y[i] = (accumulate ? y[i] : 0) + scale·Σ_k coef[i][k]·w[k], for rows i < n (coef `[n, r]`,
    /// w `[r, len]`, y `[n, len]`).
    public static func rowCombine(_ coef: UnsafePointer<Float>, n: Int, r: Int, _ w: UnsafePointer<Float>, len: Int,
                                  scale: Float, into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        parallelChunks(n, grain: Swift.max(1, (1 << 14) / Swift.max(len * r, 1))) { rows in
            for i in rows {
                let yi = y + i * len
                if !accumulate { yi.update(repeating: 0, count: len) }
                for k0 in stride(from: 0, to: r, by: 8) {
                    let g = Swift.min(8, r - k0)
                    func wk(_ k: Int) -> UnsafePointer<Float> { w + (k0 + Swift.min(k, g - 1)) * len }
                    func ck(_ k: Int) -> Float { k < g ? scale * coef[i * r + k0 + k] : 0 }
                    let (w0, w1, w2, w3, w4, w5, w6, w7) = (wk(0), wk(1), wk(2), wk(3), wk(4), wk(5), wk(6), wk(7))
                    let (s0, s1, s2, s3, s4, s5, s6, s7) = (ck(0), ck(1), ck(2), ck(3), ck(4), ck(5), ck(6), ck(7))
                    var c = 0
                    while c + width <= len {
                        var v = load(yi + c)
                        v.addProduct(s0, load(w0 + c)); v.addProduct(s1, load(w1 + c))
                        v.addProduct(s2, load(w2 + c)); v.addProduct(s3, load(w3 + c))
                        v.addProduct(s4, load(w4 + c)); v.addProduct(s5, load(w5 + c))
                        v.addProduct(s6, load(w6 + c)); v.addProduct(s7, load(w7 + c))
                        store(v, yi + c)
                        c += width
                    }
                    for t in c..<len { for k in 0..<g { yi[t] += ck(k) * wk(k)[t] } }
                }
            }
        }
    }

    /// acc[k] += scale·Σ_i coef[i][k]·x[i], for k < r (coef `[n, r]`, x `[n, len]`, acc `[r, len]`):
    /// the weight gradients. Each worker owns a range of columns of acc. Rows go four at a time
    /// and along each row in vectors, so x streams row by row (walking it down a column of
    /// vectors crossed a page every row or two and ran at a fraction of the bandwidth); eight
    /// rows of acc stay in registers for the four rows' products.
    public static func outerAccumulate(_ coef: UnsafePointer<Float>, n: Int, r: Int, _ x: UnsafePointer<Float>, len: Int,
                                       scale: Float, into acc: UnsafeMutablePointer<Float>) {
        let vectors = len / width
        let parts = Swift.max(1, Swift.min(Parallelism.workers * 2, vectors))
        parallelChunks(parts, grain: 1) { range in
            for part in range {
                let lo = part * vectors / parts * width, hi = (part + 1) * vectors / parts * width
                for k0 in stride(from: 0, to: r, by: 8) {
                    let g = Swift.min(8, r - k0)
                    func accRow(_ k: Int) -> UnsafeMutablePointer<Float> { acc + (k0 + Swift.min(k, g - 1)) * len }
                    let (d0, d1, d2, d3, d4, d5, d6, d7) = (accRow(0), accRow(1), accRow(2), accRow(3), accRow(4), accRow(5), accRow(6), accRow(7))
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { wb in
                        let w = wb.baseAddress!
                        for i0 in stride(from: 0, to: n, by: 4) {
                            // scale·coef for four rows × eight ranks; ranks past g and rows past n weigh zero.
                            w.update(repeating: 0, count: 32)
                            for ri in 0..<Swift.min(4, n - i0) { for k in 0..<g { w[ri * 8 + k] = scale * coef[(i0 + ri) * r + k0 + k] } }
                            func row(_ ri: Int) -> UnsafePointer<Float> { x + Swift.min(i0 + ri, n - 1) * len }
                            let (x0, x1, x2, x3) = (row(0), row(1), row(2), row(3))
                            var c = lo
                            while c < hi {
                                var a: Eight = (load(d0 + c), load(d1 + c), load(d2 + c), load(d3 + c),
                                                load(d4 + c), load(d5 + c), load(d6 + c), load(d7 + c))
                                @inline(__always) func add(_ v: V, _ wr: UnsafePointer<Float>) {
                                    a.0.addProduct(wr[0], v); a.1.addProduct(wr[1], v); a.2.addProduct(wr[2], v); a.3.addProduct(wr[3], v)
                                    a.4.addProduct(wr[4], v); a.5.addProduct(wr[5], v); a.6.addProduct(wr[6], v); a.7.addProduct(wr[7], v)
                                }
                                add(load(x0 + c), w)
                                add(load(x1 + c), w + 8)
                                add(load(x2 + c), w + 16)
                                add(load(x3 + c), w + 24)
                                // Only the group's real rows are stored (the others repeat its last).
                                store(a.0, d0 + c)
                                if g > 1 { store(a.1, d1 + c) }
                                if g > 2 { store(a.2, d2 + c) }
                                if g > 3 { store(a.3, d3 + c) }
                                if g > 4 { store(a.4, d4 + c) }
                                if g > 5 { store(a.5, d5 + c) }
                                if g > 6 { store(a.6, d6 + c) }
                                if g > 7 { store(a.7, d7 + c) }
                                c += width
                            }
                        }
                    }
                }
            }
        }
        // Columns past the last whole vector.
        let tail = vectors * width
        if tail < len {
            for k in 0..<r { for t in tail..<len { for i in 0..<n { acc[k * len + t] += scale * coef[i * r + k] * x[i * len + t] } } }
        }
    }
}
