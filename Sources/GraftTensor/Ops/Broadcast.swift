/// The iteration plan of an elementwise op over broadcast operands: the output shape with
/// adjacent axes merged wherever every operand stays regular across them, and each operand's
/// strides over that shape (0 along broadcast axes). Strided views are read in place.
struct BroadcastPlan {
    var shape: [Int]
    var strides: [[Int]]

    init(outputShape: [Int], operands: [Tensor]) {
        let n = outputShape.count
        var strides: [[Int]] = operands.map { t in
            var s = [Int](repeating: 0, count: n)
            let lead = n - t.rank
            for i in 0..<t.rank where t.shape[i] != 1 { s[lead + i] = t.strides[i] }
            return s
        }
        var shape = outputShape
        // Drop size-1 axes, then merge axis i into i+1 when all operands are regular across them.
        var i = 0
        while i < shape.count {
            if shape[i] == 1 && shape.count > 1 {
                shape.remove(at: i)
                for k in strides.indices { strides[k].remove(at: i) }
            } else { i += 1 }
        }
        i = shape.count - 2
        while i >= 0 {
            let mergeable = strides.allSatisfy { $0[i] == $0[i + 1] * shape[i + 1] }
            if mergeable {
                shape[i + 1] *= shape[i]
                shape.remove(at: i)
                for k in strides.indices { strides[k].remove(at: i) }
            }
            i -= 1
        }
        if shape.isEmpty {
            shape = [1]
            strides = strides.map { _ in [0] }
        }
        self.shape = shape
        self.strides = strides
    }

    var inner: Int { shape[shape.count - 1] }
    var outerCount: Int { Shape.count(shape) / inner }

    /// Offsets of each operand at the start of outer row `row`.
    @inline(__always)
    func rowOffsets(_ row: Int, _ k: Int) -> Int {
        var r = row
        var o = 0
        let s = strides[k]
        var axis = shape.count - 2
        while axis >= 0 {
            let d = shape[axis]
            o += (r % d) * s[axis]
            r /= d
            axis -= 1
        }
        return o
    }
}
