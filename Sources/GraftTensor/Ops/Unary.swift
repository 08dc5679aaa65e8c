#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Applies `f` to every element into a new contiguous tensor.
@inline(__always)
func mapElements(_ a: Tensor, _ fv: @escaping (Kernels.V) -> Kernels.V, _ fs: @escaping (Float) -> Float) -> Tensor {
    let x = a.contiguousData()
    let out = Tensor(uninitializedShape: a.shape)
    let px = x.basePointer, po = out.basePointer
    parallelChunks(out.count) { r in
        Kernels.map(px + r.lowerBound, po + r.lowerBound, r.count, fv, fs)
    }
    return out
}

/// Scalar arithmetic and elementwise functions, each recorded with its derivative.
extension Tensor {
    public static prefix func - (a: Tensor) -> Tensor {
        let out = mapElements(a, { -$0 }, { -$0 })
        return record(out, op: "neg", inputs: [a]) { g in [-g] }
    }

    public static func + (a: Tensor, s: Float) -> Tensor {
        let out = mapElements(a, { $0 + s }, { $0 + s })
        return record(out, op: "addScalar", inputs: [a]) { g in [g] }
    }

    public static func + (s: Float, a: Tensor) -> Tensor { a + s }

    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }

    public static func - (s: Float, a: Tensor) -> Tensor {
        let out = mapElements(a, { s - $0 }, { s - $0 })
        return record(out, op: "rsubScalar", inputs: [a]) { g in [-g] }
    }

    public static func * (a: Tensor, s: Float) -> Tensor {
        let out = mapElements(a, { $0 * s }, { $0 * s })
        return record(out, op: "mulScalar", inputs: [a]) { g in [g * s] }
    }

    public static func * (s: Float, a: Tensor) -> Tensor { a * s }

    public static func / (a: Tensor, s: Float) -> Tensor {
        let out = mapElements(a, { $0 / s }, { $0 / s })
        return record(out, op: "divScalar", inputs: [a]) { g in [g / s] }
    }

    /// Elementwise x².
    public func square() -> Tensor {
        let out = mapElements(self, { $0 * $0 }, { $0 * $0 })
        return Tensor.record(out, op: "square", inputs: [self]) { [self] g in [g * self * 2] }
    }

    /// Elementwise x^p for a constant exponent.
    public func pow(_ p: Float) -> Tensor {
        let out = mapElements(self, { v in
            var r = v
            for i in 0..<Kernels.width { r[i] = powf(v[i], p) }
            return r
        }, { powf($0, p) })
        return Tensor.record(out, op: "pow", inputs: [self]) { [self] g in [g * self.pow(p - 1) * p] }
    }

    /// Elementwise √x.
    public func sqrt() -> Tensor {
        let out = mapElements(self, { $0.squareRoot() }, { $0.squareRoot() })
        return Tensor.record(out, op: "sqrt", inputs: [self]) { g in [g / (out * 2)] }
    }

    /// Elementwise eˣ.
    public func exp() -> Tensor {
        let out = mapElements(self, { Kernels.exp($0) }, { expf($0) })
        return Tensor.record(out, op: "exp", inputs: [self]) { g in [g * out] }
    }

    /// Elementwise natural logarithm.
    public func log() -> Tensor {
        let out = mapElements(self, { v in
            var r = v
            for i in 0..<Kernels.width { r[i] = logf(v[i]) }
            return r
        }, { logf($0) })
        return Tensor.record(out, op: "log", inputs: [self]) { [self] g in [g / self] }
    }
}
