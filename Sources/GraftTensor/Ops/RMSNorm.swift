/// RMSNorm over the last axis, as Llama uses it: y = x / √(mean(x²) + ε) · w.
///
/// Backward, with r = 1/√(mean(x²)+ε), x̂ = x·r and u = g·w:
/// dx = r · (u − x̂ · mean(u ⊙ x̂)), dw = Σ_rows g ⊙ x̂.
public func rmsNorm(_ input: Tensor, weight: Tensor, eps: Float) -> Tensor {
    let d = input.shape.last ?? 0
    require(weight.shape == [d], .shapeMismatch(op: "rmsNorm", lhs: input.shape, rhs: weight.shape,
                                                reason: "the weight must be [\(d)], the input's last axis"))
    let x = input.contiguousData(), w = weight.contiguousData()
    let rows = d == 0 ? 0 : x.count / d
    let out = Tensor(uninitializedShape: input.shape)
    var inv = [Float](repeating: 0, count: rows)
    let px = x.basePointer, pw = w.basePointer, po = out.basePointer
    inv.withUnsafeMutableBufferPointer { pr in
        let pr = pr.baseAddress!
        parallelChunks(rows, grain: max(1, 8192 / max(d, 1))) { r in
            for row in r {
                let xr = px + row * d, yr = po + row * d
                let ms = Kernels.dot(xr, xr, d) / Float(d)
                let rs = 1 / (ms + eps).squareRoot()
                pr[row] = rs
                Kernels.zip(xr, pw, yr, d, { $0 * rs * $1 }, { $0 * rs * $1 })
            }
        }
    }
    return Tensor.record(out, op: "rmsNorm", inputs: [input, weight]) { g in
        // x and w are read through px and pw: keep their buffers alive until backward has run.
        withExtendedLifetime((x, w)) {}
        let pg = g.basePointer
        var gx: Tensor? = nil, gw: Tensor? = nil
        if input.requiresGrad {
            let dx = Tensor(uninitializedShape: x.shape)
            let pd = dx.basePointer
            inv.withUnsafeBufferPointer { pr in
                parallelChunks(rows, grain: max(1, 8192 / max(d, 1))) { r in
                    var u = [Float](repeating: 0, count: d)
                    u.withUnsafeMutableBufferPointer { ub in
                        let pu = ub.baseAddress!
                        for row in r {
                            let xr = px + row * d, gr = pg + row * d, dr = pd + row * d
                            let rs = pr[row]
                            Kernels.zip(gr, pw, pu, d, { $0 * $1 }, { $0 * $1 })
                            let c = Kernels.dot(pu, xr, d) * rs * rs / Float(d)
                            for j in 0..<d { dr[j] = rs * (pu[j] - xr[j] * c) }
                        }
                    }
                }
            }
            gx = dx
        }
        if weight.requiresGrad {
            let dw = Tensor.zeros([d])
            let pdw = dw.basePointer
            inv.withUnsafeBufferPointer { pr in
                for row in 0..<rows {
                    let xr = px + row * d, gr = pg + row * d, rs = pr[row]
                    for j in 0..<d { pdw[j] += gr[j] * xr[j] * rs }
                }
            }
            gw = dw
        }
        return [gx, gw]
    }
}
