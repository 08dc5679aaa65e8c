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

/// silu(gate) ⊙ up, a SwiGLU MLP's gated product, as one op: it saves gate and up for backward,
/// not the silu output as well, and makes one pass each way. The same numbers as
/// `gate.silu() * up`, bit for bit.
public func swiglu(_ gate: Tensor, _ up: Tensor) -> Tensor {
    require(gate.shape == up.shape, .shapeMismatch(op: "swiglu", lhs: gate.shape, rhs: up.shape, reason: "gate and up differ"))
    let g0 = gate.contiguousData(), u0 = up.contiguousData()
    let out = Tensor(uninitializedShape: gate.shape)
    let (pg, pu, po) = (g0.basePointer, u0.basePointer, out.basePointer)
    parallelChunks(out.count) { r in Kernels.swiglu(pg + r.lowerBound, pu + r.lowerBound, po + r.lowerBound, r.count) }
    return Tensor.record(out, op: "swiglu", inputs: [gate, up]) { g in
        let dGate = Tensor(uninitializedShape: g0.shape), dUp = Tensor(uninitializedShape: u0.shape)
        let (pg, pu, pd, pdg, pdu) = (g0.basePointer, u0.basePointer, g.basePointer, dGate.basePointer, dUp.basePointer)
        parallelChunks(g0.count) { r in
            let o = r.lowerBound
            Kernels.swigluBackward(pg + o, pu + o, pd + o, pdg + o, pdu + o, r.count)
        }
        return [dGate, dUp]
    }
}
