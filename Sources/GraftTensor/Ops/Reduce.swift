/// Sums and means over axes. The backward broadcasts the gradient back over the reduced axes.
extension Tensor {
    /// Sum over `axes` (negative axes count from the end); all axes when `axes` is nil.
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let reduced = normalizedAxes(axes, op: "sum")
        var kept = shape
        for a in reduced { kept[a] = 1 }
        var x = contiguousData()
        // One axis at a time, from the last: each pass is a dense [outer, n, inner] → [outer, inner] sum.
        var current = shape
        for a in reduced.sorted(by: >) where current[a] != 1 {
            x = sumAxis(x, shape: current, axis: a)
            current[a] = 1
        }
        let outShape = keepDims ? kept : shape.enumerated().filter { !reduced.contains($0.offset) }.map(\.element)
        let out: Tensor
        if x === self || x.storage === storage {
            out = Tensor(uninitializedShape: outShape)
            out.basePointer.update(from: x.basePointer, count: out.count)
        } else {
            out = Tensor(storage: x.storage, shape: outShape, strides: Shape.contiguousStrides(outShape), offset: x.offset)
        }
        let inputShape = shape
        return Tensor.record(out, op: "sum", inputs: [self]) { g in
            [g.reshaped(kept).expanded(to: inputShape).contiguous()]
        }
    }

    /// Mean over `axes`; all axes when nil.
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let reduced = normalizedAxes(axes, op: "mean")
        let n = reduced.reduce(1) { $0 * shape[$1] }
        return sum(axes: reduced, keepDims: keepDims) / Float(n)
    }

    /// Sums a broadcast result back to `target`, the shape of the operand that was broadcast.
    func sum(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        var axes = Array(0..<lead)
        for i in 0..<target.count where target[i] == 1 && shape[lead + i] != 1 { axes.append(lead + i) }
        return sum(axes: axes, keepDims: true).reshaped(target)
    }

    private func normalizedAxes(_ axes: [Int]?, op: String) -> [Int] {
        guard let axes else { return Array(0..<rank) }
        var seen = Set<Int>()
        for a in axes {
            let n: Int
            do { n = try Shape.normalize(axis: a, rank: rank, op: op, shape: shape) } catch { fail(error) }
            require(seen.insert(n).inserted, .invalidArgument(op: op, reason: "axis \(a) is given twice"))
        }
        return seen.sorted()
    }
}

/// out[o, i] = Σ_k x[o, k, i] for a contiguous x viewed as [outer, n, inner].
private func sumAxis(_ x: Tensor, shape: [Int], axis: Int) -> Tensor {
    let outer = shape[..<axis].reduce(1, *)
    let n = shape[axis]
    let inner = shape[(axis + 1)...].reduce(1, *)
    var outShape = shape
    outShape[axis] = 1
    let out = Tensor(uninitializedShape: outShape)
    let px = x.basePointer, po = out.basePointer
    if inner == 1 {
        parallelChunks(outer, grain: max(1, (1 << 15) / max(n, 1))) { r in
            for o in r { po[o] = Kernels.sum(px + o * n, n) }
        }
    } else {
        parallelChunks(outer * inner, grain: max(16, (1 << 15) / max(n, 1))) { r in
            // Work on whole [o] slabs or parts of one: iterate (o, inner range) pieces inside r.
            var idx = r.lowerBound
            while idx < r.upperBound {
                let o = idx / inner, i0 = idx % inner
                let len = min(inner - i0, r.upperBound - idx)
                let dst = po + o * inner + i0
                let src = px + o * n * inner + i0
                if n == 0 {
                    dst.update(repeating: 0, count: len)
                } else {
                    dst.update(from: src, count: len)
                    for k in 1..<n { Kernels.axpy(1, src + k * inner, dst, len) }
                }
                idx += len
            }
        }
    }
    return out
}
