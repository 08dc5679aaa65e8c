#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Kernels {
    /// exp(x) over 16 lanes: range reduction x = k·ln2 + r, a degree-6 polynomial for e^r on
    /// |r| ≤ ln2/2, and 2^k put into the exponent bits. Relative error below 5e-7 where the result
    /// is a normal float; anything below −87.3 (−∞ included) gives 0. Only plain float and integer
    /// lane operations are used (rounding by adding 1.5·2²³), because Swift's generic
    /// `rounded()` and Float→Int lane conversions compile to scalar loops.
    @inline(__always)
    public static func exp(_ x: V) -> V {
        let minX = V(repeating: -87.3365447504)
        let clamped = lanewiseMin(lanewiseMax(x, minX), V(repeating: 88.3762626647949))
        let magic = V(repeating: 12_582_912.0)
        let t = clamped * V(repeating: 1.44269504088896341) + magic
        let k = t - magic
        // r = x - k·ln2 in two parts for accuracy (Cody–Waite).
        var r = clamped - k * V(repeating: 0.693359375)
        r = r - k * V(repeating: -2.12194440e-4)
        var p = V(repeating: 1.0 / 720.0)
        p = p * r + V(repeating: 1.0 / 120.0)
        p = p * r + V(repeating: 1.0 / 24.0)
        p = p * r + V(repeating: 1.0 / 6.0)
        p = p * r + V(repeating: 0.5)
        p = p * r + V(repeating: 1.0)
        p = p * r + V(repeating: 1.0)
        typealias U = SIMD16<UInt32>
        let exponent = (unsafeBitCast(t, to: U.self) &- unsafeBitCast(magic, to: U.self) &+ 127) &<< 23
        let result = p * unsafeBitCast(exponent, to: V.self)
        let keep = unsafeBitCast(x .>= minX, to: SIMD16<Int32>.self)
        return unsafeBitCast(unsafeBitCast(result, to: U.self) & unsafeBitCast(keep, to: U.self), to: V.self)
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
        var s = horizontalSum(acc)
        while i < n {
            let e = scalarExp(a[i] - shift)
            out[i] = e
            s += e
            i += 1
        }
        return s
    }
}

@inline(__always)
func scalarExp(_ x: Float) -> Float { expf(x) }
