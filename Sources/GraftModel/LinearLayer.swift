import GraftQuant
import GraftTensor

/// A linear map `x → x·Wᵀ` as a model layer sees it. The base model's layers are frozen
/// matrices (quantized, or plain Float32); adapters (LoRA) wrap them behind the same protocol.
public protocol LinearLayer {
    var inputSize: Int { get }
    var outputSize: Int { get }
    func callAsFunction(_ x: Tensor, kernels: KernelMode) -> Tensor
    /// The layer's effective weight `[out, in]` in Float32 (dequantized; merged for adapters).
    func denseWeight() -> Tensor
}

/// A frozen weight kept compressed (GGUF blocks, NF4/FP4); gradients flow to the input only.
public struct FrozenLinear: LinearLayer, @unchecked Sendable {
    public let weight: any FrozenMatrix
    public init(_ weight: any FrozenMatrix) { self.weight = weight }
    public var inputSize: Int { weight.cols }
    public var outputSize: Int { weight.rows }
    public func callAsFunction(_ x: Tensor, kernels: KernelMode) -> Tensor { linear(x, weight, kernels: kernels) }
    public func denseWeight() -> Tensor { weight.dequantized() }
}

/// A frozen Float32 weight `[out, in]` (a merged adapter, or a test's reference layer); it gets
/// no gradient, its input does.
public struct DenseLinear: LinearLayer, @unchecked Sendable {
    public let weight: Tensor
    public init(_ weight: Tensor) {
        precondition(weight.rank == 2, "a dense linear weight is [out, in], got \(weight.shape)")
        self.weight = weight.detached()
    }
    public var inputSize: Int { weight.shape[1] }
    public var outputSize: Int { weight.shape[0] }
    public func callAsFunction(_ x: Tensor, kernels: KernelMode) -> Tensor { matmul(x, weight, transposeB: true) }
    public func denseWeight() -> Tensor { weight }
}
