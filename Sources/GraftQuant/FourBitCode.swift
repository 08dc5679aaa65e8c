/// bitsandbytes' 4-bit code books (formats.md §6.1) and how values are matched to them.
public enum FourBitType: String, Sendable, CaseIterable, Codable {
    /// NormalFloat4: quantiles of a normal distribution, with an exact zero (index 7).
    case nf4
    /// 1 sign, 2 exponent, 1 mantissa bit; indices are bit patterns, not sorted.
    case fp4

    /// index → value, exactly as `bitsandbytes.functional.get_4bit_type` builds them (FP4's
    /// index 8 is +0.0 there: its source list holds the integer −0).
    public var code: [Float] {
        switch self {
        case .nf4:
            [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
             -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
             0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
             0.7229568362236023, 1.0]
        case .fp4:
            [0, 0.0625, 8, 12, 4, 6, 2, 3, 0, -0.0625, -8, -12, -4, -6, -2, -3].map { Float($0) / 12 }
        }
    }

    /// The matcher bitsandbytes' CPU path uses: the code sorted ascending (a stable sort, so
    /// FP4's two zeros keep index order 0, 8), the float32 midpoints of neighbours, and
    /// `bucketize(right: false)`: a value exactly on a midpoint takes the lower code.
    public struct Matcher: Sendable {
        let midpoints: [Float]
        let order: [UInt8]

        init(code: [Float]) {
            let order = code.indices.sorted { code[$0] < code[$1] || (code[$0] == code[$1] && $0 < $1) }
            self.order = order.map { UInt8($0) }
            midpoints = (0..<(order.count - 1)).map { (code[order[$0]] + code[order[$0 + 1]]) / 2 }
        }

        /// The 4-bit index for a scaled value in [−1, 1].
        @inline(__always)
        public func index(_ v: Float) -> UInt8 {
            var k = 0
            while k < midpoints.count && midpoints[k] < v { k += 1 }
            return order[k]
        }
    }

    public var matcher: Matcher { Matcher(code: code) }
}

/// bitsandbytes' signed 8-bit dynamic map (formats.md §6.3), used for double quantization of
/// the block absmax values: 256 values from −0.99296874 to 1.0, index 127 = 0.
public enum DynamicMap {
    public static let values: [Float] = {
        var v: [Float] = []
        let maxExponentBits = 7, totalBits = 8
        let nonSignBits = totalBits - 1
        let additional = (1 << (nonSignBits - maxExponentBits)) - 1   // 0 for 7 exponent bits
        for i in 0..<maxExponentBits {
            let fractions = 1 << (i + nonSignBits - maxExponentBits) // 2^i (+1 points, as torch.linspace)
            let count = additional + fractions + 1
            let points = linspace(0.1, 1, count)
            let means = (0..<(count - 1)).map { (points[$0] + points[$0 + 1]) / 2 }
            let scale = pow10(i - (maxExponentBits - 1))
            for m in means { v.append(scale * m); v.append(-(scale * m)) }   // float32 products, as torch
        }
        v.append(0)
        v.append(1)
        return v.sorted()
    }()

    /// torch.linspace(0.1, 1, n) in float32 as its CPU kernel computes it: the step from the
    /// double arguments, rounded once; then fused start + step·i for the first half and
    /// end − step·(n−1−i) for the second.
    static func linspace(_ start: Double, _ end: Double, _ n: Int) -> [Float] {
        guard n > 1 else { return [Float(start)] }
        let step = Float((end - start) / Double(n - 1))
        let half = n / 2
        return (0..<n).map { i in
            i < half ? Float(start).addingProduct(step, Float(i)) : Float(end).addingProduct(-step, Float(n - 1 - i))
        }
    }

    static func pow10(_ e: Int) -> Float {
        var r: Double = 1
        for _ in 0..<abs(e) { r *= 10 }
        return Float(e < 0 ? 1 / r : r)
    }
}
