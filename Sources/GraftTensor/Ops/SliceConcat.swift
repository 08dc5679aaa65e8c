/// Slicing along one axis (a view) and concatenation along one axis (a copy).
extension Tensor {
    /// Elements `range` along `axis`; a view sharing storage. The backward places the gradient
    /// into zeros of the input's shape.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let a: Int
        do { a = try Shape.normalize(axis: axis, rank: rank, op: "slice", shape: shape) } catch { fail(error) }
        require(range.lowerBound >= 0 && range.upperBound <= shape[a],
                .invalidArgument(op: "slice", reason: "range \(range) is outside axis \(axis) of size \(shape[a]) in \(shape)"))
        var newShape = shape
        newShape[a] = range.count
        let out = Tensor(storage: storage, shape: newShape, strides: strides, offset: offset + range.lowerBound * strides[a])
        let inputShape = shape
        return Tensor.record(out, op: "slice", inputs: [self]) { g in
            let full = Tensor.zeros(inputShape)
            let window = full.slice(axis: a, range)
            copyInto(window, from: g)
            return [full]
        }
    }

    /// Tensors joined along `axis`; all other axes must agree.
    public static func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
        require(!tensors.isEmpty, .invalidArgument(op: "concat", reason: "needs at least one tensor"))
        let first = tensors[0]
        let a: Int
        do { a = try Shape.normalize(axis: axis, rank: first.rank, op: "concat", shape: first.shape) } catch { fail(error) }
        var total = 0
        for t in tensors {
            var s1 = t.shape, s0 = first.shape
            require(t.rank == first.rank, .shapeMismatch(op: "concat", lhs: first.shape, rhs: t.shape, reason: "ranks differ"))
            s1[a] = 0; s0[a] = 0
            require(s1 == s0, .shapeMismatch(op: "concat", lhs: first.shape, rhs: t.shape,
                                             reason: "sizes differ outside axis \(axis)"))
            total += t.shape[a]
        }
        var outShape = first.shape
        outShape[a] = total
        let out = Tensor(uninitializedShape: outShape)
        var start = 0
        var ranges: [Range<Int>] = []
        for t in tensors {
            let r = start..<(start + t.shape[a])
            copyInto(out.slice(axis: a, r), from: t)
            ranges.append(r)
            start = r.upperBound
        }
        return record(out, op: "concat", inputs: tensors) { g in
            zip(tensors, ranges).map { t, r in t.requiresGrad ? g.slice(axis: a, r).contiguous() : nil }
        }
    }
}

/// Writes `src`'s values into the (possibly strided) view `dst`, which must have its shape.
func copyInto(_ dst: Tensor, from src: Tensor) {
    let plan = BroadcastPlan(outputShape: dst.shape, operands: [dst, src])
    let pd = dst.storage.pointer + dst.offset, ps = src.storage.pointer + src.offset
    let inner = plan.inner
    let last = plan.shape.count - 1
    let sd = plan.strides[0][last], ss = plan.strides[1][last]
    for row in 0..<plan.outerCount {
        let od = plan.rowOffsets(row, 0), os = plan.rowOffsets(row, 1)
        if sd == 1 && ss == 1 { (pd + od).update(from: ps + os, count: inner) }
        else { for j in 0..<inner { pd[od + j * sd] = ps[os + j * ss] } }
    }
}
