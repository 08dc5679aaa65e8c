/// Elementwise arithmetic with NumPy broadcasting. The backward reduces each gradient back to
/// its operand's shape by summing over the broadcast axes.
extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastBinary(a, b, op: "add", { $0 + $1 }, { $0 + $1 })
        // Shapes only: the operands themselves are not needed, so backward does not keep them alive.
        let (aShape, bShape, aGrad, bGrad) = (a.shape, b.shape, a.requiresGrad, b.requiresGrad)
        return record(out, op: "add", inputs: [a, b]) { g in
            [aGrad ? g.sum(toShape: aShape) : nil, bGrad ? g.sum(toShape: bShape) : nil]
        }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastBinary(a, b, op: "sub", { $0 - $1 }, { $0 - $1 })
        let (aShape, bShape, aGrad, bGrad) = (a.shape, b.shape, a.requiresGrad, b.requiresGrad)
        return record(out, op: "sub", inputs: [a, b]) { g in
            [aGrad ? g.sum(toShape: aShape) : nil, bGrad ? (-g).sum(toShape: bShape) : nil]
        }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastBinary(a, b, op: "mul", { $0 * $1 }, { $0 * $1 })
        // Each operand is saved only when the other one needs its gradient.
        let (aShape, bShape) = (a.shape, b.shape)
        let savedA = b.requiresGrad ? a : nil, savedB = a.requiresGrad ? b : nil
        return record(out, op: "mul", inputs: [a, b]) { g in
            [savedB.map { (g * $0).sum(toShape: aShape) }, savedA.map { (g * $0).sum(toShape: bShape) }]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastBinary(a, b, op: "div", { $0 / $1 }, { $0 / $1 })
        return record(out, op: "div", inputs: [a, b]) { g in
            [a.requiresGrad ? (g / b).sum(toShape: a.shape) : nil,
             b.requiresGrad ? (-(g * out) / b).sum(toShape: b.shape) : nil]
        }
    }
}

/// Computes `f(a, b)` over the broadcast shape, picking a contiguous SIMD loop for each row
/// where operands are dense or broadcast scalars, and a strided loop otherwise.
@inline(__always)
func broadcastBinary(_ a: Tensor, _ b: Tensor, op: String,
                     _ fv: @escaping (Kernels.V, Kernels.V) -> Kernels.V,
                     _ fs: @escaping (Float, Float) -> Float) -> Tensor {
    let shape: [Int]
    do { shape = try Shape.broadcast(a.shape, b.shape, op: op) } catch { fail(error) }
    let out = Tensor(uninitializedShape: shape)
    if out.count == 0 { return out }
    let plan = BroadcastPlan(outputShape: shape, operands: [a, b])
    let pa = a.storage.pointer + a.offset, pb = b.storage.pointer + b.offset, po = out.basePointer
    let inner = plan.inner
    let sa = plan.strides[0][plan.shape.count - 1], sb = plan.strides[1][plan.shape.count - 1]

    @inline(__always) func row(_ oa: Int, _ ob: Int, _ oo: Int, _ n: Int) {
        let xa = pa + oa, xb = pb + ob, xo = po + oo
        if sa == 1 && sb == 1 { Kernels.zip(xa, xb, xo, n, fv, fs) }
        else if sa == 1 && sb == 0 { Kernels.zipScalarRight(xa, xb.pointee, xo, n, fv, fs) }
        else if sa == 0 && sb == 1 { Kernels.zipScalarLeft(xa.pointee, xb, xo, n, fv, fs) }
        else { for j in 0..<n { xo[j] = fs(xa[j * sa], xb[j * sb]) } }
    }

    if plan.shape.count == 1 {
        parallelChunks(inner) { r in
            row(r.lowerBound * sa, r.lowerBound * sb, r.lowerBound, r.count)
        }
    } else {
        let rows = plan.outerCount
        parallelChunks(rows, grain: max(1, (1 << 15) / inner)) { r in
            for i in r {
                row(plan.rowOffsets(i, 0), plan.rowOffsets(i, 1), i * inner, inner)
            }
        }
    }
    return out
}
