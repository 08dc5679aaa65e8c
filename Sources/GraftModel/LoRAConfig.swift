/// The projections of a Llama block that LoRA can adapt, by their Hugging Face module names
/// (PEFT's `target_modules`).
public enum LoRATarget: String, CaseIterable, Sendable, Codable {
    case qProj = "q_proj", kProj = "k_proj", vProj = "v_proj", oProj = "o_proj"
    case gateProj = "gate_proj", upProj = "up_proj", downProj = "down_proj"

    /// The module path inside a Hugging Face Llama, e.g. `model.layers.3.self_attn.q_proj`.
    public func modulePath(layer: Int) -> String {
        switch self {
        case .qProj, .kProj, .vProj, .oProj: "model.layers.\(layer).self_attn.\(rawValue)"
        case .gateProj, .upProj, .downProj: "model.layers.\(layer).mlp.\(rawValue)"
        }
    }
}

/// LoRA hyper-parameters, with PEFT's meaning (formats.md §4.2, §4.4).
public struct LoRAConfig: Sendable, Equatable, Codable {
    /// r: the inner dimension of B·A.
    public var rank: Int
    /// lora_alpha: the numerator of the scale.
    public var alpha: Float
    /// Dropout on the adapter's input only, while training.
    public var dropout: Float
    public var targets: [LoRATarget]
    /// use_rslora: scale α/√r instead of α/r, so the update's size does not shrink with rank.
    public var rsLoRA: Bool
    /// use_dora: weight-decomposed LoRA (a learned per-row magnitude; formats.md §4.6).
    public var dora: Bool

    public init(rank: Int = 8, alpha: Float = 16, dropout: Float = 0, targets: [LoRATarget] = [.qProj, .vProj],
                rsLoRA: Bool = false, dora: Bool = false) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets
        self.rsLoRA = rsLoRA
        self.dora = dora
    }

    /// The factor on B·A·x: α/r, or α/√r with rsLoRA.
    public var scaling: Float { rsLoRA ? alpha / Float(rank).squareRoot() : alpha / Float(rank) }

    /// Targets from PEFT-style names: module names, or the single name `all-linear` (every
    /// projection of the blocks; the output head is never adapted, as in PEFT).
    public static func targets(named names: [String]) throws(LoRAConfigError) -> [LoRATarget] {
        if names == ["all-linear"] { return LoRATarget.allCases }
        guard !names.isEmpty else { throw .noTargets }
        var out: [LoRATarget] = []
        for name in names {
            guard let t = LoRATarget(rawValue: name) else { throw .unknownTarget(name) }
            if !out.contains(t) { out.append(t) }
        }
        return out
    }
}

public enum LoRAConfigError: Error, CustomStringConvertible, Equatable {
    case unknownTarget(String)
    case noTargets

    public var description: String {
        switch self {
        case .unknownTarget(let name):
            "unknown LoRA target '\(name)': use \(LoRATarget.allCases.map(\.rawValue).joined(separator: ", ")) or \"all-linear\""
        case .noTargets: "no LoRA targets: name at least one module, or \"all-linear\""
        }
    }
}
