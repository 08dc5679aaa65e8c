/// Which keys each query may attend to. Every mask here is causal; they differ in where a
/// query's window starts.
public enum AttentionMask: Sendable {
    /// Query i of Tq sits at key position Tk − Tq + i and sees keys 0 … that position: plain
    /// causal attention when Tq = Tk, and decoding against a KV cache when Tq < Tk.
    case causal
    /// Packed sequences: `segments[b·T + t]` names the example token t of row b belongs to;
    /// a query sees earlier keys of its own example only. Segments must be contiguous runs.
    case causalSegments([Int32])
}

/// Causal scaled-dot-product attention with grouped KV heads.
///
/// `q` is `[B, Tq, Hq, D]`, `k` and `v` are `[B, Tk, Hkv, D]` (the layout a linear projection
/// produces, so no permute is needed), Hq a multiple of Hkv; query head h uses KV head
/// h / (Hq / Hkv), as HF's `repeat_kv` and ggml do. Returns `[B, Tq, Hq, D]`.
/// Each (batch, head) is three GEMMs on strided views; the probabilities are kept for backward.
public func scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask = .causal,
                                      scale: Float? = nil) -> Tensor {
    require(q.rank == 4 && k.rank == 4 && v.rank == 4,
            .shapeMismatch(op: "attention", lhs: q.shape, rhs: k.shape, reason: "q, k and v must be [B, T, H, D]"))
    let (bs, tq, hq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
    let (tk, hkv) = (k.shape[1], k.shape[2])
    require(k.shape == v.shape, .shapeMismatch(op: "attention", lhs: k.shape, rhs: v.shape, reason: "k and v differ"))
    require(k.shape[0] == bs && k.shape[3] == d,
            .shapeMismatch(op: "attention", lhs: q.shape, rhs: k.shape, reason: "batch or head size differ"))
    require(hkv > 0 && hq % hkv == 0,
            .shapeMismatch(op: "attention", lhs: q.shape, rhs: k.shape, reason: "\(hq) query heads are not a multiple of \(hkv) KV heads"))
    require(tk >= tq, .shapeMismatch(op: "attention", lhs: q.shape, rhs: k.shape, reason: "fewer keys than queries"))
    let windows = attentionWindows(mask, batch: bs, tq: tq, tk: tk, qShape: q.shape)
    let s = scale ?? 1 / Float(d).squareRoot()
    let group = hq / hkv
    let qc = q.contiguousData(), kc = k.contiguousData(), vc = v.contiguousData()
    let out = Tensor(uninitializedShape: [bs, tq, hq, d])
    let probs = Tensor(uninitializedShape: [bs, hq, tq, tk])
    let ldq = hq * d, ldk = hkv * d

    if tq <= 4 {
        // Decoding: a few query rows against the cache. Dot products beat tiny GEMM calls, whose
        // threading overhead dominated the decode step.
        attendFewQueries(q: qc, k: kc, v: vc, out: out, probs: probs, windows: windows, scale: s, group: group)
    } else {
        attendWithGEMM(q: qc, k: kc, v: vc, out: out, probs: probs, windows: windows, scale: s, group: group)
    }

    return Tensor.record(out, op: "attention", inputs: [q, k, v]) { g in
        let gq = Tensor(uninitializedShape: qc.shape)
        let gk = Tensor.zeros(kc.shape), gv = Tensor.zeros(vc.shape)
        let dp = Tensor(uninitializedShape: [tq, tk])
        for b in 0..<bs {
            for h in 0..<hq {
                let kvh = h / group
                let qo = b * tq * ldq + h * d, ko = b * tk * ldk + kvh * d
                let p = probs.basePointer + (b * hq + h) * tq * tk
                let go = g.basePointer + qo
                // dV += Pᵀ dO ; dP = dO Vᵀ
                BLAS.sgemm(transA: true, transB: false, m: tk, n: d, k: tq, a: p, lda: tk, b: go, ldb: ldq,
                           beta: 1, c: gv.basePointer + ko, ldc: ldk)
                BLAS.sgemm(transA: false, transB: true, m: tq, n: tk, k: d, a: go, lda: ldq, b: vc.basePointer + ko,
                           ldb: ldk, c: dp.basePointer, ldc: tk)
                // dS = P ⊙ (dP − rowsum(dP ⊙ P)) · scale, in place in dp.
                for i in 0..<tq {
                    let (lo, hi) = windows[b * tq + i]
                    let pr = p + i * tk, dr = dp.basePointer + i * tk
                    let dot = Kernels.dot(pr + lo, dr + lo, hi - lo)
                    for j in 0..<tk { dr[j] = (j >= lo && j < hi) ? pr[j] * (dr[j] - dot) * s : 0 }
                }
                // dQ = dS K ; dK += dSᵀ Q
                BLAS.sgemm(transA: false, transB: false, m: tq, n: d, k: tk, a: dp.basePointer, lda: tk,
                           b: kc.basePointer + ko, ldb: ldk, c: gq.basePointer + qo, ldc: ldq)
                BLAS.sgemm(transA: true, transB: false, m: tk, n: d, k: tq, a: dp.basePointer, lda: tk,
                           b: qc.basePointer + qo, ldb: ldq, beta: 1, c: gk.basePointer + ko, ldc: ldk)
            }
        }
        return [gq, gk, gv]
    }
}

/// The forward for many query rows: per (batch, head) scores = scale·Q Kᵀ and output = P V as
/// GEMMs on strided views of the [B, T, H, D] layouts, with a windowed softmax in between.
private func attendWithGEMM(q: Tensor, k: Tensor, v: Tensor, out: Tensor, probs: Tensor, windows: [(Int, Int)],
                            scale: Float, group: Int) {
    let (bs, tq, hq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
    let (tk, hkv) = (k.shape[1], k.shape[2])
    let ldq = hq * d, ldk = hkv * d
    for b in 0..<bs {
        for h in 0..<hq {
            let kvh = h / group
            let qp = q.basePointer + b * tq * ldq + h * d
            let kp = k.basePointer + b * tk * ldk + kvh * d
            let vp = v.basePointer + b * tk * ldk + kvh * d
            let p = probs.basePointer + (b * hq + h) * tq * tk
            BLAS.sgemm(transA: false, transB: true, m: tq, n: tk, k: d, alpha: scale, a: qp, lda: ldq, b: kp, ldb: ldk,
                       c: p, ldc: tk)
            for i in 0..<tq {
                let (lo, hi) = windows[b * tq + i]
                let row = p + i * tk
                Kernels.softmax(row + lo, row + lo, hi - lo)
                if lo > 0 { row.update(repeating: 0, count: lo) }
                if hi < tk { (row + hi).update(repeating: 0, count: tk - hi) }
            }
            BLAS.sgemm(transA: false, transB: false, m: tq, n: d, k: tk, a: p, lda: tk, b: vp, ldb: ldk,
                       c: out.basePointer + b * tq * ldq + h * d, ldc: ldq)
        }
    }
}

/// The forward for few query rows: for each (batch, KV head, query) the query heads that share the
/// KV head are scored together, key by key, so each key and value row is read once for the group;
/// then softmax and the weighted sum of value rows. Same probabilities as the GEMM path (kept in
/// `probs` for backward), arithmetic in a different order.
private func attendFewQueries(q: Tensor, k: Tensor, v: Tensor, out: Tensor, probs: Tensor, windows: [(Int, Int)],
                              scale: Float, group: Int) {
    let (bs, tq, hq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
    let (tk, hkv) = (k.shape[1], k.shape[2])
    let ldq = hq * d, ldk = hkv * d
    let (pq, pk, pv, po, pp) = (q.basePointer, k.basePointer, v.basePointer, out.basePointer, probs.basePointer)
    parallelChunks(bs * hkv * tq, grain: max(1, 2048 / max(tk * d * group / 16, 1))) { range in
        for item in range {
            let (b, kvh, i) = (item / (hkv * tq), (item / tq) % hkv, item % tq)
            let (lo, hi) = windows[b * tq + i]
            let kp = pk + b * tk * ldk + kvh * d, vp = pv + b * tk * ldk + kvh * d
            let heads = (kvh * group)..<((kvh + 1) * group)
            func row(_ h: Int) -> UnsafeMutablePointer<Float> { pp + ((b * hq + h) * tq + i) * tk }
            func query(_ h: Int) -> UnsafeMutablePointer<Float> { pq + (b * tq + i) * ldq + h * d }
            for j in lo..<hi {
                let key = kp + j * ldk
                for h in heads { row(h)[j] = Kernels.dot(query(h), key, d) * scale }
            }
            for h in heads {
                let r = row(h)
                Kernels.softmax(r + lo, r + lo, hi - lo)
                if lo > 0 { r.update(repeating: 0, count: lo) }
                if hi < tk { (r + hi).update(repeating: 0, count: tk - hi) }
                (po + (b * tq + i) * ldq + h * d).update(repeating: 0, count: d)
            }
            for j in lo..<hi {
                let value = vp + j * ldk
                for h in heads { Kernels.axpy(row(h)[j], value, po + (b * tq + i) * ldq + h * d, d) }
            }
        }
    }
}

/// For each (batch row, query) the half-open range of keys it attends to.
private func attentionWindows(_ mask: AttentionMask, batch: Int, tq: Int, tk: Int, qShape: [Int]) -> [(Int, Int)] {
    var windows = [(Int, Int)](repeating: (0, 0), count: batch * tq)
    switch mask {
    case .causal:
        for b in 0..<batch { for i in 0..<tq { windows[b * tq + i] = (0, tk - tq + i + 1) } }
    case .causalSegments(let segments):
        require(tq == tk && segments.count == batch * tq,
                .invalidArgument(op: "attention", reason: "segment ids must cover [B, T] = [\(batch), \(tq)] with Tq = Tk; got \(segments.count) for q \(qShape)"))
        for b in 0..<batch {
            var start = 0
            for i in 0..<tq {
                if i > 0 && segments[b * tq + i] != segments[b * tq + i - 1] { start = i }
                windows[b * tq + i] = (start, i + 1)
            }
        }
    }
    return windows
}
