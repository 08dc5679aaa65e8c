import GraftTensor

/// The adapters attached to one model: a `LoRALinear` per targeted projection of each block,
/// named by its Hugging Face module path (`model.layers.3.self_attn.q_proj`), in model order.
///
/// Rows of q_proj/k_proj follow the base's layout: a GGUF base keeps Q/K rows permuted for
/// adjacent-pair RoPE (formats.md §7.3), so lora_B of those projections is in that order too;
/// exporters to PEFT map it back (`RoPERowOrder`).
public final class LoRAAdapterSet {
    public let config: LoRAConfig
    public let layers: [(path: String, layer: LoRALinear)]

    init(config: LoRAConfig, layers: [(path: String, layer: LoRALinear)]) {
        self.config = config
        self.layers = layers
    }

    /// Every trainable tensor with PEFT's key (formats.md §4.3), in a fixed order: layers in
    /// model order, and A, B, magnitude within a layer.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        layers.flatMap { path, layer -> [(name: String, tensor: Tensor)] in
            let p = "base_model.model.\(path)."
            var out = [(p + "lora_A.weight", layer.a), (p + "lora_B.weight", layer.b)]
            if let m = layer.magnitude { out.append((p + "lora_magnitude_vector", m)) }
            return out
        }
    }

    public var parameters: [Tensor] { namedParameters.map(\.tensor) }
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
}

extension LlamaModel {
    /// Wraps each targeted projection of every block in a freshly initialised `LoRALinear`
    /// (PEFT's init from `seed`, layers in model order, targets in `LoRATarget` order), so
    /// one seed fixes every initial value.
    @discardableResult
    public func attachLoRA(_ config: LoRAConfig, seed: UInt64, dropout: DropoutSource? = nil) -> LoRAAdapterSet {
        var generator = RandomGenerator(seed: seed)
        return attach(config) { _, base in LoRALinear(base: base, config: config, generator: &generator, dropoutSource: dropout) }
    }

    /// Wraps the targets with adapters whose weights are given by PEFT key (as `namedParameters`
    /// lists them); a missing or misshapen tensor is an error naming it.
    @discardableResult
    public func attachLoRA(_ config: LoRAConfig, weights: [String: Tensor], dropout: DropoutSource? = nil)
        throws(LoRAWeightError) -> LoRAAdapterSet {
        var failure: LoRAWeightError?
        let set = attach(config) { path, base in
            let p = "base_model.model.\(path)."
            func get(_ key: String, _ shape: [Int]) -> Tensor {
                guard let t = weights[p + key] else {
                    if failure == nil { failure = .missing(p + key) }
                    return Tensor.zeros(shape)
                }
                guard t.shape == shape else {
                    if failure == nil { failure = .shape(p + key, expected: shape, found: t.shape) }
                    return Tensor.zeros(shape)
                }
                return t
            }
            let a = get("lora_A.weight", [config.rank, base.inputSize])
            let b = get("lora_B.weight", [base.outputSize, config.rank])
            let m = config.dora ? get("lora_magnitude_vector", [base.outputSize]) : nil
            return LoRALinear(base: base, config: config, a: a, b: b, magnitude: m, dropoutSource: dropout)
        }
        if let failure {
            detachLoRA()
            throw failure
        }
        return set
    }

    /// Puts the frozen base layers back in place of any adapters.
    public func detachLoRA() {
        for i in weights.blocks.indices {
            for target in LoRATarget.allCases {
                if let lora = weights.blocks[i][target] as? LoRALinear { weights.blocks[i][target] = lora.base }
            }
        }
    }

    private func attach(_ config: LoRAConfig, _ make: (String, any LinearLayer) -> LoRALinear) -> LoRAAdapterSet {
        detachLoRA()
        var layers: [(path: String, layer: LoRALinear)] = []
        for i in weights.blocks.indices {
            for target in LoRATarget.allCases where config.targets.contains(target) {
                let path = target.modulePath(layer: i)
                let lora = make(path, weights.blocks[i][target])
                weights.blocks[i][target] = lora
                layers.append((path, lora))
            }
        }
        return LoRAAdapterSet(config: config, layers: layers)
    }
}

extension LlamaBlockWeights {
    /// The projection a LoRA target names.
    public subscript(target: LoRATarget) -> any LinearLayer {
        get {
            switch target {
            case .qProj: q
            case .kProj: k
            case .vProj: v
            case .oProj: o
            case .gateProj: gate
            case .upProj: up
            case .downProj: down
            }
        }
        set {
            switch target {
            case .qProj: q = newValue
            case .kProj: k = newValue
            case .vProj: v = newValue
            case .oProj: o = newValue
            case .gateProj: gate = newValue
            case .upProj: up = newValue
            case .downProj: down = newValue
            }
        }
    }
}

public enum LoRAWeightError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case shape(String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .missing(let key): "adapter weights: '\(key)' is missing"
        case .shape(let key, let expected, let found): "adapter weights: '\(key)' is \(found), the model needs \(expected)"
        }
    }
}
