/// Ops that change how elements are addressed, not their values: reshape, transpose, permute,
/// broadcast-expand and the contiguous copy. They share storage where the strides allow.
extension Tensor {
    /// The same elements in a new shape; one dimension may be -1 and is inferred. A view when
    /// this tensor is contiguous, a copy otherwise.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        let target = resolveReshape(newShape)
        if target == shape { return self }
        let src = isContiguous ? self : contiguous()
        let out = Tensor(storage: src.storage, shape: target, strides: Shape.contiguousStrides(target), offset: src.offset)
        let original = shape
        return Tensor.record(out, op: "reshape", inputs: [src]) { g in [g.reshaped(original)] }
    }

    private func resolveReshape(_ newShape: [Int]) -> [Int] {
        var target = newShape
        let unknown = newShape.indices.filter { newShape[$0] == -1 }
        require(unknown.count <= 1, .shapeMismatch(op: "reshape", lhs: shape, rhs: newShape, reason: "only one dimension may be -1"))
        if let u = unknown.first {
            let known = newShape.enumerated().filter { $0.offset != u }.reduce(1) { $0 * $1.element }
            require(known > 0 && count % known == 0,
                    .shapeMismatch(op: "reshape", lhs: shape, rhs: newShape, reason: "\(count) elements cannot fill the new shape"))
            target[u] = count / known
        }
        require(Shape.count(target) == count && target.allSatisfy { $0 >= 0 },
                .shapeMismatch(op: "reshape", lhs: shape, rhs: newShape,
                               reason: "\(count) elements cannot take the shape \(target)"))
        return target
    }

    /// Axes reordered: output axis i is input axis `order[i]`. Always a view.
    public func permuted(_ order: [Int]) -> Tensor {
        require(order.count == rank && Set(order) == Set(0..<rank),
                .invalidArgument(op: "permute", reason: "order \(order) is not a permutation of the \(rank) axes of \(shape)"))
        let out = Tensor(storage: storage, shape: order.map { shape[$0] }, strides: order.map { strides[$0] }, offset: offset)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return Tensor.record(out, op: "permute", inputs: [self]) { g in [g.permuted(inverse).contiguous()] }
    }

    /// Two axes swapped (the last two by default). Always a view.
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        let i: Int, j: Int
        do {
            i = try Shape.normalize(axis: a, rank: rank, op: "transpose", shape: shape)
            j = try Shape.normalize(axis: b, rank: rank, op: "transpose", shape: shape)
        } catch { fail(error) }
        var order = Array(0..<rank)
        order.swapAt(i, j)
        return permuted(order)
    }

    /// A broadcast view: size-1 axes (and missing leading axes) repeated to `target` with stride 0.
    public func expanded(to target: [Int]) -> Tensor {
        if target == shape { return self }
        let lead = target.count - rank
        require(lead >= 0, .shapeMismatch(op: "expand", lhs: shape, rhs: target, reason: "cannot expand to a lower rank"))
        var newStrides = [Int](repeating: 0, count: target.count)
        for i in 0..<rank {
            if shape[i] == target[lead + i] { newStrides[lead + i] = strides[i] }
            else {
                require(shape[i] == 1, .shapeMismatch(op: "expand", lhs: shape, rhs: target,
                                                      reason: "axis \(i) of size \(shape[i]) is not 1"))
            }
        }
        let out = Tensor(storage: storage, shape: target, strides: newStrides, offset: offset)
        let original = shape
        return Tensor.record(out, op: "expand", inputs: [self]) { g in [g.sum(toShape: original)] }
    }

    /// A dense row-major tensor with the same values: `self` when already contiguous.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        let out = contiguousData()
        return Tensor.record(out, op: "contiguous", inputs: [self]) { g in [g] }
    }
}
