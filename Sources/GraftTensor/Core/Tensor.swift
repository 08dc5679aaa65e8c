/// An n-dimensional array of Float32 that can take part in reverse-mode differentiation.
///
/// Storage is a shared `TensorStorage`; a tensor is a view of it through `shape`, `strides` and
/// `offset`, so reshape of a contiguous tensor, transpose, permute, slice and broadcast make no
/// copy. Kernels that need dense rows call `contiguous()`, which copies only when it must.
///
/// A tensor is a reference type because autograd needs identity: an op records its inputs, and
/// `backward()` accumulates into `grad` of the leaves that set `requiresGrad`.
///
/// ```swift
/// let w = Tensor.randn([4, 3], generator: &rng, requiresGrad: true)
/// let x = Tensor([1, 2, 3], shape: [1, 3])
/// let loss = matmul(x, w, transposeB: true).square().sum()
/// loss.backward()          // w.grad now holds d loss / d w
/// ```
public final class Tensor {
    public let shape: [Int]
    public let strides: [Int]
    public let offset: Int
    public let storage: TensorStorage

    /// Set on a leaf (a parameter) to have `backward()` accumulate its gradient into `grad`.
    public var requiresGrad: Bool {
        get { leafRequiresGrad || gradNode != nil }
        set { leafRequiresGrad = newValue }
    }
    /// The accumulated gradient of a leaf that requires it; `nil` until a backward pass reaches it.
    public var grad: Tensor?

    var leafRequiresGrad = false
    /// How this tensor was computed, when that must be differentiated; nil for leaves and constants.
    var gradNode: GradNode?

    public init(storage: TensorStorage, shape: [Int], strides: [Int], offset: Int = 0) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// A new contiguous tensor with uninitialised contents, for ops that write every element.
    public convenience init(uninitializedShape shape: [Int]) {
        self.init(storage: TensorStorage(count: Shape.count(shape)), shape: shape,
                  strides: Shape.contiguousStrides(shape))
    }

    /// A tensor holding `values` in row-major order.
    public convenience init(_ values: [Float], shape: [Int], requiresGrad: Bool = false) {
        require(values.count == Shape.count(shape),
                .invalidShape(op: "Tensor.init", shape: shape,
                              reason: "it holds \(Shape.count(shape)) elements but \(values.count) values were given"))
        self.init(uninitializedShape: shape)
        values.withUnsafeBufferPointer { src in
            if !src.isEmpty { storage.pointer.update(from: src.baseAddress!, count: src.count) }
        }
        self.leafRequiresGrad = requiresGrad
    }

    /// A 0-dimensional tensor.
    public convenience init(scalar: Float) { self.init([scalar], shape: []) }

    public var rank: Int { shape.count }
    public var count: Int { Shape.count(shape) }

    /// True when the elements are laid out densely in row-major order from `offset`.
    public var isContiguous: Bool {
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] != 1 {
            if strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    /// The first element's address. Valid while this tensor is alive.
    public var basePointer: UnsafeMutablePointer<Float> { storage.pointer + offset }

    /// A leaf has no recorded history.
    public var isLeaf: Bool { gradNode == nil }

    /// The same data without history: what the optimizer updates and what no-grad code reads.
    public func detached() -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset)
    }

    /// Calls `body` with the elements in row-major order (copying first if this is a strided view).
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        let c = contiguousData()
        return try body(UnsafeBufferPointer(start: c.basePointer, count: c.count))
    }

    /// Mutable access for in-place updates (optimizer steps, loading weights). Only for contiguous
    /// tensors; views that share the storage see the change.
    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        require(isContiguous, .invalidShape(op: "withUnsafeMutableBufferPointer", shape: shape,
                                            reason: "in-place access needs a contiguous tensor"))
        return try body(UnsafeMutableBufferPointer(start: basePointer, count: count))
    }

    /// The elements in row-major order.
    public func toArray() -> [Float] { withUnsafeBufferPointer { Array($0) } }

    /// The single element of a tensor with one element.
    public func item() -> Float {
        require(count == 1, .invalidShape(op: "item", shape: shape, reason: "item() needs exactly one element"))
        return basePointer.pointee
    }

    /// The element at a multi-index.
    public subscript(_ index: Int...) -> Float {
        require(index.count == rank, .invalidShape(op: "subscript", shape: shape,
                                                   reason: "index \(index) has the wrong rank"))
        var o = offset
        for (i, (ix, d)) in zip(index, shape).enumerated() {
            require(ix >= 0 && ix < d, .invalidShape(op: "subscript", shape: shape, reason: "index \(index) is out of range"))
            o += ix * strides[i]
        }
        return storage.pointer[o]
    }

    /// A contiguous tensor with the same elements, without history: `self` when already dense.
    func contiguousData() -> Tensor {
        if isContiguous { return self }
        let out = Tensor(uninitializedShape: shape)
        stridedCopy(from: self, to: out.basePointer)
        return out
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = toArray()
        let shown = values.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(values.count > 8 ? ", …" : "")])"
    }
}

/// Copies a strided view into dense row-major memory.
func stridedCopy(from t: Tensor, to dst: UnsafeMutablePointer<Float>) {
    let shape = t.shape, strides = t.strides
    let n = t.count
    if n == 0 { return }
    let src = t.storage.pointer
    if shape.isEmpty { dst[0] = src[t.offset]; return }
    let last = shape.count - 1
    let inner = shape[last], innerStride = strides[last]
    let outer = n / inner
    var index = [Int](repeating: 0, count: shape.count)
    var srcOffset = t.offset
    for row in 0..<outer {
        let d = dst + row * inner
        if innerStride == 1 {
            d.update(from: src + srcOffset, count: inner)
        } else {
            for j in 0..<inner { d[j] = src[srcOffset + j * innerStride] }
        }
        var axis = last - 1
        while axis >= 0 {
            index[axis] += 1
            srcOffset += strides[axis]
            if index[axis] < shape[axis] { break }
            srcOffset -= strides[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}
