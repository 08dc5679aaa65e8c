#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Kernels {
    /// out[i] = x[i]·σ(x[i])
    public static func silu(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        let one = V(repeating: 1)
        var i = 0
        while i + width <= n {
            let v = load(x + i)
            store(v / (one + exp(-v)), out + i)
            i += width
        }
        while i < n { out[i] = x[i] / (1 + expf(-x[i])); i += 1 }
    }

    /// dx[i] = g[i]·σ(x[i])·(1 + x[i]·(1 − σ(x[i])))
    public static func siluBackward(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                                    _ dx: UnsafeMutablePointer<Float>, _ n: Int) {
        let one = V(repeating: 1)
        var i = 0
        while i + width <= n {
            let v = load(x + i)
            let s = one / (one + exp(-v))
            store(load(g + i) * s * (one + v * (one - s)), dx + i)
            i += width
        }
        while i < n {
            let s = 1 / (1 + expf(-x[i]))
            dx[i] = g[i] * s * (1 + x[i] * (1 - s))
            i += 1
        }
    }

    /// y = softmax(x) for one row of n values (y may be x).
    public static func softmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let m = max(x, n)
        let s = expShifted(x, m, y, n)
        let inv = V(repeating: 1 / s)
        var i = 0
        while i + width <= n { store(load(y + i) * inv, y + i); i += width }
        while i < n { y[i] *= inv[0]; i += 1 }
    }
}
