/// Shape arithmetic shared by the ops: element counts, contiguous strides, broadcasting and axis
/// normalisation. The throwing functions are the checks the ops run; callers whose shapes come from
/// input can run them first and get a `TensorError` instead of a trap.
public enum Shape {
    /// Number of elements of a shape (1 for a scalar `[]`).
    @inlinable
    public static func count(_ shape: [Int]) -> Int {
        var n = 1
        for d in shape { n *= d }
        return n
    }

    /// Row-major strides of a contiguous tensor of this shape.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = s
            s *= shape[i]
        }
        return strides
    }

    /// NumPy broadcasting: shapes are aligned on the right; each pair of sizes must be equal or one of them 1.
    public static func broadcast(_ a: [Int], _ b: [Int], op: String) throws(TensorError) -> [Int] {
        let n = max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let da = i < n - a.count ? 1 : a[i - (n - a.count)]
            let db = i < n - b.count ? 1 : b[i - (n - b.count)]
            if da == db || db == 1 { out[i] = da }
            else if da == 1 { out[i] = db }
            else {
                throw .shapeMismatch(op: op, lhs: a, rhs: b,
                                     reason: "axis \(i - n) has sizes \(da) and \(db), which do not broadcast")
            }
        }
        return out
    }

    /// An axis given from the end (-1 is the last) turned into an index, checked against the rank.
    public static func normalize(axis: Int, rank: Int, op: String, shape: [Int]) throws(TensorError) -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else {
            throw .invalidShape(op: op, shape: shape, reason: "axis \(axis) is out of range for rank \(rank)")
        }
        return a
    }
}
