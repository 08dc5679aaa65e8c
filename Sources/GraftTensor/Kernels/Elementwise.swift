/// Dense elementwise kernels over raw pointers, 16 lanes at a time (one AVX-512 register).
/// They are the inner loops of the ops; each takes contiguous ranges and a count.
public enum Kernels {
    public typealias V = SIMD16<Float>
    static let width = 16

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// out[i] = f(a[i], b[i])
    @inline(__always)
    static func zip(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                    _ n: Int, _ fv: (V, V) -> V, _ fs: (Float, Float) -> Float) {
        var i = 0
        while i + width <= n {
            store(fv(load(a + i), load(b + i)), out + i)
            i += width
        }
        while i < n { out[i] = fs(a[i], b[i]); i += 1 }
    }

    /// out[i] = f(a[i], s) for a scalar s (also used for a broadcast operand of stride 0).
    @inline(__always)
    static func zipScalarRight(_ a: UnsafePointer<Float>, _ s: Float, _ out: UnsafeMutablePointer<Float>,
                               _ n: Int, _ fv: (V, V) -> V, _ fs: (Float, Float) -> Float) {
        let sv = V(repeating: s)
        var i = 0
        while i + width <= n {
            store(fv(load(a + i), sv), out + i)
            i += width
        }
        while i < n { out[i] = fs(a[i], s); i += 1 }
    }

    @inline(__always)
    static func zipScalarLeft(_ s: Float, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                              _ n: Int, _ fv: (V, V) -> V, _ fs: (Float, Float) -> Float) {
        let sv = V(repeating: s)
        var i = 0
        while i + width <= n {
            store(fv(sv, load(b + i)), out + i)
            i += width
        }
        while i < n { out[i] = fs(s, b[i]); i += 1 }
    }

    /// out[i] = f(a[i])
    @inline(__always)
    static func map(_ a: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int,
                    _ fv: (V) -> V, _ fs: (Float) -> Float) {
        var i = 0
        while i + width <= n {
            store(fv(load(a + i)), out + i)
            i += width
        }
        while i < n { out[i] = fs(a[i]); i += 1 }
    }

    public static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        zip(a, b, out, n, { $0 + $1 }, { $0 + $1 })
    }

    /// Naive reference for `add`, kept for tests of the SIMD path.
    public static func addReference(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { out[i] = a[i] + b[i] }
    }

    /// The sum of the 16 lanes as a tree of 4 vector adds. `SIMD.sum()` adds the lanes one after
    /// another (a 15-add dependency chain, as float addition is not reassociated), which made
    /// per-row reductions the hot spot of decoding.
    @inline(__always)
    public static func horizontalSum(_ v: V) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        let c = b.lowHalf + b.highHalf
        return c[0] + c[1]
    }

    /// Sum of a[i]*b[i], accumulated in 16 lanes.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = V(repeating: 0)
        var i = 0
        while i + width <= n {
            acc.addProduct(load(a + i), load(b + i))
            i += width
        }
        var s = horizontalSum(acc)
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// Sum of a[i].
    @inline(__always)
    public static func sum(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = V(repeating: 0)
        var i = 0
        while i + width <= n { acc += load(a + i); i += width }
        var s = horizontalSum(acc)
        while i < n { s += a[i]; i += 1 }
        return s
    }

    /// Largest a[i] (−∞ for n = 0).
    @inline(__always)
    public static func max(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = V(repeating: -.infinity)
        var i = 0
        while i + width <= n { acc = lanewiseMax(acc, load(a + i)); i += width }
        var m = acc.max()
        while i < n { m = Swift.max(m, a[i]); i += 1 }
        return m
    }

    /// The larger of each pair of lanes. Swift's `pointwiseMax` handles NaN lane by lane and
    /// compiles to a scalar loop; a compare and blend is one instruction each.
    @inline(__always)
    public static func lanewiseMax(_ a: V, _ b: V) -> V { a.replacing(with: b, where: b .> a) }

    @inline(__always)
    public static func lanewiseMin(_ a: V, _ b: V) -> V { a.replacing(with: b, where: b .< a) }

    /// y[i] += alpha * x[i]
    @inline(__always)
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let av = V(repeating: alpha)
        var i = 0
        while i + width <= n {
            var yv = load(y + i)
            yv.addProduct(av, load(x + i))
            store(yv, y + i)
            i += width
        }
        while i < n { y[i] += alpha * x[i]; i += 1 }
    }

    /// x[i] *= alpha
    @inline(__always)
    public static func scale(_ x: UnsafeMutablePointer<Float>, _ alpha: Float, _ n: Int) {
        map(x, x, n, { $0 * alpha }, { $0 * alpha })
    }
}
