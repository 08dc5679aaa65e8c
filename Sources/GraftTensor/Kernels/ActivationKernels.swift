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

    /// out[i] = silu(gate[i])·up[i]: a SwiGLU MLP's gated product (same arithmetic as `silu`
    /// followed by a multiply).
    public static func swiglu(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                              _ n: Int) {
        let one = V(repeating: 1)
        var i = 0
        while i + width <= n {
            let v = load(gate + i)
            store(v / (one + exp(-v)) * load(up + i), out + i)
            i += width
        }
        while i < n { out[i] = gate[i] / (1 + expf(-gate[i])) * up[i]; i += 1 }
    }

    /// dGate[i] = (g[i]·up[i])·σ·(1 + gate·(1 − σ)) and dUp[i] = g[i]·silu(gate[i]): the same
    /// products, in the same order, as the backward of `silu` and of the multiply.
    public static func swigluBackward(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                                      _ dGate: UnsafeMutablePointer<Float>, _ dUp: UnsafeMutablePointer<Float>, _ n: Int) {
        let one = V(repeating: 1)
        var i = 0
        while i + width <= n {
            let v = load(gate + i), gv = load(g + i)
            let e = one + exp(-v)
            let s = one / e
            store(gv * load(up + i) * s * (one + v * (one - s)), dGate + i)
            store(gv * (v / e), dUp + i)
            i += width
        }
        while i < n {
            let e = 1 + expf(-gate[i])
            let s = 1 / e
            dGate[i] = g[i] * up[i] * s * (1 + gate[i] * (1 - s))
            dUp[i] = g[i] * (gate[i] / e)
            i += 1
        }
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
