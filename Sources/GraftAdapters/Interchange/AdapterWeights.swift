import Foundation
import GraftFormats
import GraftModel
import GraftTensor

/// The sizes of a Llama base that its adapters depend on: the shape of every LoRA target's
/// projection (PyTorch order, `[out, in]`) and the head layout that orders q/k rows. Kept in an
/// adapter's manifest, so an adapter can be exported without its base at hand.
public struct BaseGeometry: Codable, Sendable, Equatable {
    public var layers: Int
    public var hidden: Int
    public var intermediate: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int

    public init(layers: Int, hidden: Int, intermediate: Int, heads: Int, kvHeads: Int, headDim: Int) {
        (self.layers, self.hidden, self.intermediate, self.heads, self.kvHeads, self.headDim) =
            (layers, hidden, intermediate, heads, kvHeads, headDim)
    }

    public init(_ c: LlamaConfig) {
        (layers, hidden, intermediate, heads, kvHeads, headDim) =
            (c.layerCount, c.hiddenSize, c.intermediateSize, c.headCount, c.kvHeadCount, c.headDim)
    }

    enum CodingKeys: String, CodingKey {
        case layers, hidden, intermediate, heads, headDim = "head_dim", kvHeads = "kv_heads"
    }

    public func output(_ target: LoRATarget) -> Int {
        switch target {
        case .qProj: return heads * headDim
        case .kProj, .vProj: return kvHeads * headDim
        case .oProj, .downProj: return hidden
        case .gateProj, .upProj: return intermediate
        }
    }

    public func input(_ target: LoRATarget) -> Int {
        switch target {
        case .oProj: return heads * headDim
        case .downProj: return intermediate
        default: return hidden
        }
    }

    /// Checks the sizes are positive and small enough to allocate (they may come from a file).
    public func validate(file: String, field: String) throws(FormatError) {
        for v in [layers, hidden, intermediate, heads, kvHeads, headDim] where v <= 0 || v > 1 << 20 {
            throw .invalid(path: file, field: field, reason: "sizes must be positive and at most 2^20, found \(v)")
        }
        guard layers <= 4096 else { throw .invalid(path: file, field: field, reason: "\(layers) layers is more than 4096") }
        guard headDim % 2 == 0 else { throw .invalid(path: file, field: field, reason: "head_dim \(headDim) must be even") }
    }

    /// The map from Hugging Face (rotate-half) row order to the GGUF base's (adjacent-pair) order
    /// for q_proj/k_proj rows (formats.md §7.3); nil for projections whose rows do not move.
    public func ggufFromHF(_ target: LoRATarget) -> [Int]? {
        switch target {
        case .qProj: return RoPERowOrder.ggufFromHF(heads: heads, headDim: headDim)
        case .kProj: return RoPERowOrder.ggufFromHF(heads: kvHeads, headDim: headDim)
        default: return nil
        }
    }

    public func hfFromGGUF(_ target: LoRATarget) -> [Int]? {
        switch target {
        case .qProj: return RoPERowOrder.hfFromGGUF(heads: heads, headDim: headDim)
        case .kProj: return RoPERowOrder.hfFromGGUF(heads: kvHeads, headDim: headDim)
        default: return nil
        }
    }
}

/// An adapter's tensors in memory, apart from any model: its LoRA settings and, for every block
/// and target, A `[r, in]`, B `[out, r]` and (DoRA) the magnitude `[out]`, with q/k rows in the
/// GGUF base's order (as graft trains them). The common form every reader produces and every
/// writer (graft folder, PEFT, GGUF LoRA, merge) consumes.
public struct AdapterWeights {
    public struct Layer {
        public var a: Tensor
        public var b: Tensor
        public var magnitude: Tensor?
        public init(a: Tensor, b: Tensor, magnitude: Tensor? = nil) {
            self.a = a
            self.b = b
            self.magnitude = magnitude
        }
    }

    public var lora: LoRAConfig
    public var layerCount: Int
    /// Keyed by (block, target).
    public var layers: [Key: Layer]

    public struct Key: Hashable, Comparable, Sendable {
        public let block: Int
        public let target: LoRATarget
        public init(block: Int, target: LoRATarget) { self.block = block; self.target = target }
        public static func < (l: Key, r: Key) -> Bool {
            (l.block, LoRATarget.allCases.firstIndex(of: l.target)!) < (r.block, LoRATarget.allCases.firstIndex(of: r.target)!)
        }
        /// PEFT's key prefix, e.g. `base_model.model.model.layers.3.self_attn.q_proj.`.
        public var peftPrefix: String { "base_model.model.\(target.modulePath(layer: block))." }
    }

    public init(lora: LoRAConfig, layerCount: Int, layers: [Key: Layer]) {
        self.lora = lora
        self.layerCount = layerCount
        self.layers = layers
    }

    /// Every (block, target) the settings adapt, in model order.
    public var keys: [Key] {
        (0..<layerCount).flatMap { b in LoRATarget.allCases.filter(lora.targets.contains).map { Key(block: b, target: $0) } }
    }

    /// The tensors by PEFT key (graft's `adapter.safetensors` names), q/k rows as stored.
    public var peftTensors: [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (key, layer) in layers {
            out[key.peftPrefix + "lora_A.weight"] = layer.a
            out[key.peftPrefix + "lora_B.weight"] = layer.b
            if let m = layer.magnitude { out[key.peftPrefix + "lora_magnitude_vector"] = m }
        }
        return out
    }

    /// Builds the layers from tensors named by PEFT key, checking that every expected tensor is
    /// there with the base's shape and that nothing else is. `file` names the source in errors.
    public init(lora: LoRAConfig, geometry: BaseGeometry, tensors: [String: Tensor], file: String) throws(FormatError) {
        guard lora.rank > 0 else { throw .invalid(path: file, field: "r", reason: "rank must be positive, found \(lora.rank)") }
        guard lora.alpha.isFinite, lora.alpha > 0 else {
            throw .invalid(path: file, field: "lora_alpha", reason: "must be a positive number, found \(lora.alpha)")
        }
        self.lora = lora
        layerCount = geometry.layers
        layers = [:]
        var used = Set<String>()
        func take(_ name: String, _ shape: [Int]) throws(FormatError) -> Tensor {
            guard let t = tensors[name] else { throw .missing(path: file, name: name) }
            guard t.shape == shape else {
                throw .invalid(path: file, field: name, reason: "shape \(t.shape) does not fit the base, which needs \(shape)")
            }
            used.insert(name)
            return t
        }
        for key in keys {
            let (o, i, p) = (geometry.output(key.target), geometry.input(key.target), key.peftPrefix)
            let a = try take(p + "lora_A.weight", [lora.rank, i])
            let b = try take(p + "lora_B.weight", [o, lora.rank])
            let m = lora.dora ? try take(p + "lora_magnitude_vector", [o]) : nil
            layers[key] = Layer(a: a, b: b, magnitude: m)
        }
        if let extra = tensors.keys.sorted().first(where: { !used.contains($0) }) {
            throw .invalid(path: file, field: extra, reason: "is not a tensor of this adapter's settings (r=\(lora.rank), targets \(lora.targets.map(\.rawValue).joined(separator: ","))\(lora.dora ? ", DoRA" : ""))")
        }
        for (name, t) in tensors where !t.toArray().allSatisfy(\.isFinite) {
            throw .invalid(path: file, field: name, reason: "holds a value that is not finite")
        }
    }

    /// The same adapter with the rows of q/k tensors (B and the magnitude) reordered by `order`
    /// (`geometry.ggufFromHF` to read an HF-ordered source, `hfFromGGUF` to write one).
    public func permutingQK(_ order: (LoRATarget) -> [Int]?) -> AdapterWeights {
        var copy = self
        for (key, layer) in layers {
            guard let p = order(key.target) else { continue }
            copy.layers[key]!.b = layer.b.gatheringRows(p)
            copy.layers[key]!.magnitude = layer.magnitude?.gatheringRows(p)
        }
        return copy
    }
}

extension Tensor {
    /// Row `j` of the result is row `order[j]` of `self` (first axis).
    func gatheringRows(_ order: [Int]) -> Tensor {
        let rows = shape[0]
        precondition(order.count == rows)
        let width = count / max(rows, 1)
        let src = toArray()
        var out = [Float](repeating: 0, count: count)
        for (j, r) in order.enumerated() {
            for c in 0..<width { out[j * width + c] = src[r * width + c] }
        }
        return Tensor(out, shape: shape)
    }
}
