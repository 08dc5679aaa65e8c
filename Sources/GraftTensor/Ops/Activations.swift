extension Tensor {
    /// SiLU (swish): x·σ(x), the gate of a Llama MLP. Backward: σ(x)·(1 + x·(1 − σ(x))).
    public func silu() -> Tensor {
        let x = contiguousData()
        let out = Tensor(uninitializedShape: shape)
        let px = x.basePointer, po = out.basePointer
        parallelChunks(x.count) { r in Kernels.silu(px + r.lowerBound, po + r.lowerBound, r.count) }
        return Tensor.record(out, op: "silu", inputs: [self]) { g in
            let gx = Tensor(uninitializedShape: x.shape)
            let pg = g.basePointer, pd = gx.basePointer
            parallelChunks(x.count) { r in
                Kernels.siluBackward(px + r.lowerBound, pg + r.lowerBound, pd + r.lowerBound, r.count)
            }
            return [gx]
        }
    }

    /// Softmax over the last axis. Backward: y ⊙ (g − Σ g⊙y).
    public func softmax() -> Tensor {
        require(rank >= 1, .invalidShape(op: "softmax", shape: shape, reason: "needs at least one axis"))
        let x = contiguousData()
        let n = shape[rank - 1]
        let rows = n == 0 ? 0 : count / n
        let out = Tensor(uninitializedShape: shape)
        let px = x.basePointer, po = out.basePointer
        parallelChunks(rows, grain: max(1, 8192 / max(n, 1))) { r in
            for row in r { Kernels.softmax(px + row * n, po + row * n, n) }
        }
        return Tensor.record(out, op: "softmax", inputs: [self]) { g in
            let gx = Tensor(uninitializedShape: out.shape)
            let py = out.basePointer, pg = g.basePointer, pd = gx.basePointer
            for row in 0..<rows {
                let o = row * n
                let dot = Kernels.dot(pg + o, py + o, n)
                for j in 0..<n { pd[o + j] = py[o + j] * (pg[o + j] - dot) }
            }
            return [gx]
        }
    }
}
