import GraftQuant
import GraftTensor

/// A frozen linear layer with a trainable low-rank update (LoRA), and optionally DoRA's learned
/// per-row magnitude:
///
///     y = base(x) + s · B·A·dropout(x)                               (LoRA)
///     y = base(x) + (m/n − 1) · W·x̃ + (m/n) · s · B·A·x̃,  x̃ = dropout(x)   (DoRA)
///
/// with s = α/r (α/√r with rsLoRA), A `[r, in]`, B `[out, r]`, m `[out]` and n the row norms of
/// W + s·B·A, treated as a constant in the backward pass (formats.md §4.4, §4.6). Only A, B
/// (and m) require gradients; the base passes gradients to its input only.
public final class LoRALinear: LinearLayer, @unchecked Sendable {
    public let base: any LinearLayer
    public let config: LoRAConfig
    /// `[rank, in]`
    public let a: Tensor
    /// `[out, rank]`
    public let b: Tensor
    /// DoRA's magnitude `[out]`; nil for plain LoRA.
    public let magnitude: Tensor?
    /// Dropout's random stream; nil means no dropout.
    public let dropoutSource: DropoutSource?

    /// PEFT's default initialisation (formats.md §4.5): A ~ U(−1/√in, 1/√in) (kaiming-uniform
    /// with a = √5), B = 0, so the adapted layer starts equal to its base; DoRA's m starts at the
    /// row norms of the base weight.
    public convenience init(base: any LinearLayer, config: LoRAConfig, generator: inout RandomGenerator,
                            dropoutSource: DropoutSource? = nil) {
        let bound = 1 / Float(base.inputSize).squareRoot()
        let a = Tensor.uniform([config.rank, base.inputSize], low: -bound, high: bound, generator: &generator)
        let b = Tensor.zeros([base.outputSize, config.rank])
        let m = config.dora ? Self.rowNorms(base.denseWeight()) : nil
        self.init(base: base, config: config, a: a, b: b, magnitude: m, dropoutSource: dropoutSource)
    }

    /// A layer with given adapter weights (loaded from a checkpoint or a fixture).
    public init(base: any LinearLayer, config: LoRAConfig, a: Tensor, b: Tensor, magnitude: Tensor? = nil,
                dropoutSource: DropoutSource? = nil) {
        precondition(a.shape == [config.rank, base.inputSize], "lora_A must be [\(config.rank), \(base.inputSize)], got \(a.shape)")
        precondition(b.shape == [base.outputSize, config.rank], "lora_B must be [\(base.outputSize), \(config.rank)], got \(b.shape)")
        precondition(config.dora == (magnitude != nil), "DoRA needs a magnitude vector, and only DoRA has one")
        if let magnitude { precondition(magnitude.shape == [base.outputSize], "the DoRA magnitude must be [\(base.outputSize)]") }
        self.base = base
        self.config = config
        self.a = a.detached()
        self.b = b.detached()
        self.magnitude = magnitude?.detached()
        self.dropoutSource = dropoutSource
        self.a.requiresGrad = true
        self.b.requiresGrad = true
        self.magnitude?.requiresGrad = true
    }

    public var inputSize: Int { base.inputSize }
    public var outputSize: Int { base.outputSize }
    public var scaling: Float { config.scaling }

    /// The trainable tensors: A, B, then m for DoRA.
    public var parameters: [Tensor] { [a, b] + (magnitude.map { [$0] } ?? []) }

    public func callAsFunction(_ x: Tensor, kernels: KernelMode) -> Tensor {
        let dropping = dropoutSource.map { $0.isTraining && config.dropout > 0 } ?? false
        if magnitude == nil, let frozen = base as? FrozenLinear {
            // The fused op, with the same draws as `dropout` would make.
            let mask = dropping ? DropoutMask(count: x.count, p: config.dropout, generator: &dropoutSource!.generator) : nil
            return loraLinear(x, dropout: mask, base: frozen.weight, a: a, b: b, scaling: scaling, kernels: kernels)
        }
        var dropped = x
        if dropping, let source = dropoutSource { dropped = dropout(x, p: config.dropout, generator: &source.generator) }
        let y = base(x, kernels: kernels)
        let lora = matmul(matmul(dropped, a, transposeB: true), b, transposeB: true)
        guard let magnitude else { return y + lora * scaling }
        // DoRA: the row norms of W + s·B·A, detached (DoRA §4.3; PEFT does the same).
        let norms = doraNorms()
        let ratio = magnitude / norms
        let baseOfDropped = dropped === x ? y : base(dropped, kernels: kernels)
        return y + (ratio - 1) * baseOfDropped + ratio * (lora * scaling)
    }

    /// The weight with the adapter folded in (formats.md §4.7; DoRA's rescaling for DoRA):
    /// W + s·B·A, or (m/‖W + s·B·A‖_row) ⊙_row (W + s·B·A).
    public func denseWeight() -> Tensor { withNoGrad { mergedWeight(plain: false) } }

    /// The row norms of W + s·B·A for the current A and B, kept until A or B change: they need
    /// the whole base weight dequantized, which must not happen for every decoded token (nor
    /// twice in a step with recomputation).
    private var normsCache: (a: [Float], b: [Float], norms: Tensor)?

    func doraNorms() -> Tensor {
        let (aNow, bNow) = (a.toArray(), b.toArray())
        if let cache = normsCache, cache.a == aNow, cache.b == bNow { return cache.norms }
        let norms = withNoGrad { Self.rowNorms(mergedWeight(plain: true)) }
        normsCache = (aNow, bNow, norms)
        return norms
    }

    /// W + s·B·A (`plain`), or DoRA's rescaled form of it.
    func mergedWeight(plain: Bool) -> Tensor {
        let w = base.denseWeight()
        let v = w + matmul(b.detached(), a.detached()) * scaling
        guard !plain, let magnitude else { return v }
        return v * (magnitude.detached() / Self.rowNorms(v)).reshaped([outputSize, 1])
    }

    /// PEFT's unmerge: the base weight recovered from a merged one (W' − s·B·A; for DoRA,
    /// W'/(m/n) − s·B·A with n the row norms computed from the unmerged weight at merge time).
    public func unmerge(_ merged: Tensor) -> Tensor {
        withNoGrad {
            let delta = matmul(b.detached(), a.detached()) * scaling
            guard let magnitude else { return merged - delta }
            let n = Self.rowNorms(base.denseWeight() + delta)
            return merged / (magnitude.detached() / n).reshaped([outputSize, 1]) - delta
        }
    }

    /// ‖row‖₂ of a `[out, in]` matrix, as `[out]`.
    static func rowNorms(_ w: Tensor) -> Tensor {
        w.square().sum(axes: [1]).sqrt()
    }
}
