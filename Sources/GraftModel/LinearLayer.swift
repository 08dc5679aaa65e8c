import GraftQuant
import GraftTensor

/// A linear map `x → x·Wᵀ` as a model layer sees it. The base model's layers are frozen
/// quantized matrices; adapters (LoRA) wrap them behind the same protocol.
public protocol LinearLayer {
    var inputSize: Int { get }
    var outputSize: Int { get }
    func callAsFunction(_ x: Tensor, kernels: KernelMode) -> Tensor
}

/// A frozen weight kept in its quantized blocks; gradients flow to the input only.
public struct FrozenLinear: LinearLayer, @unchecked Sendable {
    public let weight: QuantizedMatrix
    public init(_ weight: QuantizedMatrix) { self.weight = weight }
    public var inputSize: Int { weight.cols }
    public var outputSize: Int { weight.rows }
    public func callAsFunction(_ x: Tensor, kernels: KernelMode) -> Tensor { linear(x, weight, kernels: kernels) }
}
