#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Tensor {
    /// SiLU (swish): x·σ(x), the gate of a Llama MLP. Backward: σ(x)·(1 + x·(1 − σ(x))).
    public func silu() -> Tensor {
        let x = contiguousData()
        let out = mapElements(x, { v in v / (1 + Kernels.exp(-v)) }, { v in v / (1 + expf(-v)) })
        return Tensor.record(out, op: "silu", inputs: [self]) { g in
            let gx = Tensor(uninitializedShape: x.shape)
            let px = x.basePointer, pg = g.basePointer, po = gx.basePointer
            parallelChunks(x.count) { r in
                var i = r.lowerBound
                let one = Kernels.V(repeating: 1)
                while i + Kernels.width <= r.upperBound {
                    let v = Kernels.load(px + i)
                    let s = one / (one + Kernels.exp(-v))
                    Kernels.store(Kernels.load(pg + i) * s * (one + v * (one - s)), po + i)
                    i += Kernels.width
                }
                while i < r.upperBound {
                    let v = px[i], s = 1 / (1 + expf(-v))
                    po[i] = pg[i] * s * (1 + v * (1 - s))
                    i += 1
                }
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
            for row in r { softmaxRow(px + row * n, po + row * n, n) }
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

/// y = softmax(x) for one row of n values.
@inline(__always)
func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let m = Kernels.max(x, n)
    let s = Kernels.expShifted(x, m, y, n)
    Kernels.scale(y, 1 / s, n)
}
