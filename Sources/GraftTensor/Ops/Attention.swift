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
/// Many query rows (prefill, training) run the fused kernels of `FusedAttention`, which keep only
/// each row's log-sum-exp for backward; a few rows without gradients (decoding) run
/// `attendFewQueries`.
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
    let qc = q.contiguousData(), kc = k.contiguousData(), vc = v.contiguousData()
    let out = Tensor(uninitializedShape: [bs, tq, hq, d])
    let needsGradient = GradMode.isEnabled && (q.requiresGrad || k.requiresGrad || v.requiresGrad)

    if tq <= 4 && !needsGradient {
        // Decoding: a few query rows against the cache.
        attendFewQueries(q: qc, k: kc, v: vc, out: out, windows: windows, scale: s, group: hq / hkv)
        return out
    }
    let operands = FusedAttention.Operands(q: qc, k: kc, v: vc, scale: s)
    let lse = Tensor(uninitializedShape: [bs, hq, tq])
    FusedAttention.forward(q: qc, operands: operands, windows: windows, out: out, lse: lse)
    return Tensor.record(out, op: "attention", inputs: [q, k, v]) { g in
        let (gq, gk, gv) = FusedAttention.backward(g: g.contiguousData(), q: qc, operands: operands, windows: windows,
                                                   out: out, lse: lse)
        return [gq, gk, gv]
    }
}

/// The forward for few query rows: for each (batch, KV head, query) the query heads that share the
/// KV head are scored together, key by key, so each key and value row is read once for the group;
/// then softmax and the weighted sum of value rows. Same probabilities as the fused path,
/// arithmetic in a different order.
private func attendFewQueries(q: Tensor, k: Tensor, v: Tensor, out: Tensor, windows: [(Int, Int)],
                              scale: Float, group: Int) {
    let (bs, tq, hq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
    let (tk, hkv) = (k.shape[1], k.shape[2])
    let ldq = hq * d, ldk = hkv * d
    let (pq, pk, pv, po) = (q.basePointer, k.basePointer, v.basePointer, out.basePointer)
    parallelChunks(bs * hkv * tq, grain: max(1, 2048 / max(tk * d * group / 16, 1))) { range in
        let pp = UnsafeMutablePointer<Float>.allocate(capacity: group * tk)
        defer { pp.deallocate() }
        for item in range {
            let (b, kvh, i) = (item / (hkv * tq), (item / tq) % hkv, item % tq)
            let (lo, hi) = windows[b * tq + i]
            let kp = pk + b * tk * ldk + kvh * d, vp = pv + b * tk * ldk + kvh * d
            let heads = (kvh * group)..<((kvh + 1) * group)
            func row(_ h: Int) -> UnsafeMutablePointer<Float> { pp + (h - kvh * group) * tk }
            func query(_ h: Int) -> UnsafeMutablePointer<Float> { pq + (b * tq + i) * ldq + h * d }
            for j in lo..<hi {
                let key = kp + j * ldk
                for h in heads { row(h)[j] = Kernels.dot(query(h), key, d) * scale }
            }
            for h in heads {
                let r = row(h)
                Kernels.softmax(r + lo, r + lo, hi - lo)
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
