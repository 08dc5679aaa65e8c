/// The float32 sum `torch.sum` computes on a CPU for a contiguous vector (ATen SumKernel.cpp:
/// cascade sums over `Vectorized<float>` lanes, 4-way interleaved). bitsandbytes' double
/// quantization subtracts the mean of the absmax values, so matching its bits means adding in
/// torch's order, not left to right. `lanes` is 8 on AVX2 and AVX-512 builds of torch.
public enum TorchFloatSum {
    public static func sum(_ x: [Float], lanes: Int = 8) -> Float {
        let n = x.count
        if n < lanes { return rowSum(x.map { [$0] })[0] }
        let vectors = n / lanes
        let acc = rowSum((0..<vectors).map { Array(x[($0 * lanes)..<(($0 + 1) * lanes)]) })
        var total: Float = 0
        for v in x[(vectors * lanes)...] { total += v }
        for v in acc { total += v }
        return total
    }

    private static func add(_ a: inout [Float], _ b: [Float]) {
        for i in a.indices { a[i] += b[i] }
    }

    /// ATen's `row_sum`: groups of four items summed by `multi_row_sum`, then the remainder.
    private static func rowSum(_ items: [[Float]]) -> [Float] {
        let width = items.first?.count ?? 1
        let groups = items.count / 4
        var part: [[Float]]
        if groups > 0 {
            part = multiRowSum(size: groups, rows: 4, width: width) { Array(items[(4 * $0)..<(4 * $0 + 4)]) }
        } else {
            part = [[Float]](repeating: [Float](repeating: 0, count: width), count: 4)
        }
        for i in (groups * 4)..<items.count { add(&part[0], items[i]) }
        for k in 1..<4 { add(&part[0], part[k]) }
        return part[0]
    }

    /// ATen's `multi_row_sum`: a cascade of four accumulator levels that each take 2^levelPower
    /// of the level below.
    private static func multiRowSum(size: Int, rows: Int, width: Int, _ get: (Int) -> [[Float]]) -> [[Float]] {
        let ceilLog2 = size > 1 ? Int((Double(size)).log2Ceil) : 0
        let levelPower = max(4, ceilLog2 / 4)
        let step = 1 << levelPower
        let mask0 = step - 1
        let zero = [Float](repeating: 0, count: width)
        var acc = [[[Float]]](repeating: [[Float]](repeating: zero, count: rows), count: 4)
        var i = 0
        while i + step <= size {
            for _ in 0..<step {
                let row = get(i)
                for k in 0..<rows { add(&acc[0][k], row[k]) }
                i += 1
            }
            for j in 1..<4 {
                for k in 0..<rows {
                    add(&acc[j][k], acc[j - 1][k])
                    acc[j - 1][k] = zero
                }
                if i & (mask0 << (j * levelPower)) != 0 { break }
            }
        }
        while i < size {
            let row = get(i)
            for k in 0..<rows { add(&acc[0][k], row[k]) }
            i += 1
        }
        for j in 1..<4 { for k in 0..<rows { add(&acc[0][k], acc[j][k]) } }
        return acc[0]
    }
}

private extension Double {
    /// ⌈log₂ self⌉ for self ≥ 1.
    var log2Ceil: Int {
        var p = 0
        while Double(1 << p) < self { p += 1 }
        return p
    }
}
