#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Kernels {
    /// exp(x) over 16 lanes: range reduction x = k·ln2 + r, a degree-6 polynomial for e^r on
    /// |r| ≤ ln2/2, and 2^k put into the exponent bits. Relative error below 2e-7 on the range
    /// where the result is a normal float; −∞ gives 0. This is what softmax and cross-entropy spend
    /// their time in, and libm's scalar expf is several times slower.
    @inline(__always)
    public static func exp(_ x: V) -> V {
        let maxX = V(repeating: 88.3762626647949)
        let minX = V(repeating: -87.3365447504)
        let clamped = pointwiseMin(pointwiseMax(x, minX), maxX)
        let log2e = V(repeating: 1.44269504088896341)
        let k = (clamped * log2e).rounded(.toNearestOrEven)
        // r = x - k*ln2 in two parts for accuracy (Cody-Waite).
        var r = clamped - k * V(repeating: 0.693359375)
        r = r - k * V(repeating: -2.12194440e-4)
        var p = V(repeating: 1.0 / 720.0)
        p = p * r + V(repeating: 1.0 / 120.0)
        p = p * r + V(repeating: 1.0 / 24.0)
        p = p * r + V(repeating: 1.0 / 6.0)
        p = p * r + V(repeating: 0.5)
        p = p * r + V(repeating: 1.0)
        p = p * r + V(repeating: 1.0)
        let ki = SIMD16<Int32>(k)
        let bits = (ki &+ 127) &<< 23
        let scale = unsafeBitCast(bits, to: V.self)
        let result = p * scale
        // Below the clamp the true value underflows: return 0 (this makes exp(-inf) = 0).
        return result.replacing(with: 0, where: x .< minX)
    }

    /// exp over a buffer: out[i] = e^(a[i] - shift)
    @inline(__always)
    public static func expShifted(_ a: UnsafePointer<Float>, _ shift: Float, _ out: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        let sv = V(repeating: shift)
        var acc = V(repeating: 0)
        var i = 0
        while i + width <= n {
            let e = exp(load(a + i) - sv)
            store(e, out + i)
            acc += e
            i += width
        }
        var s = acc.sum()
        while i < n {
            let e = Foundation_expf(a[i] - shift)
            out[i] = e
            s += e
            i += 1
        }
        return s
    }
}

@inline(__always)
func Foundation_expf(_ x: Float) -> Float { expf(x) }
