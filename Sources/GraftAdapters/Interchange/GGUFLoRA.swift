import Foundation
import GraftFormats
import GraftModel
import GraftQuant
import GraftTensor

/// llama.cpp's LoRA adapter GGUF (formats.md §3): `blk.N.attn_q.weight.lora_a` with dims
/// `[in, r]` and `.lora_b` with dims `[r, out]` (the bytes of PyTorch's A `[r, in]` and B
/// `[out, r]`), rows of q/k in the GGUF base's order, and `adapter.lora.alpha` (FLOAT32) from
/// which llama.cpp takes the scale alpha/r. rsLoRA has no flag there, so its alpha is written as
/// α·√r; DoRA has no form there at all.
public enum GGUFLoRA {
    static let prefix = "graft."

    /// The GGUF name of a target's projection.
    public static func tensorName(_ target: LoRATarget) -> String {
        switch target {
        case .qProj: "attn_q"
        case .kProj: "attn_k"
        case .vProj: "attn_v"
        case .oProj: "attn_output"
        case .gateProj: "ffn_gate"
        case .upProj: "ffn_up"
        case .downProj: "ffn_down"
        }
    }

    /// The alpha that makes llama.cpp's scale (alpha/r) equal graft's: α, or α·√r for rsLoRA.
    public static func llamaAlpha(_ lora: LoRAConfig) -> Float {
        lora.rsLoRA ? lora.alpha * Float(lora.rank).squareRoot() : lora.alpha
    }

    /// The file's bytes for `weights` (F32 tensors), naming `base` in graft's own keys.
    public static func encode(_ weights: AdapterWeights, base: BaseIdentity, name: String, file: String) throws(FormatError) -> [UInt8] {
        guard !weights.lora.dora else {
            throw .invalid(path: file, field: "use_dora", reason: "llama.cpp has no form for DoRA's magnitudes; merge the adapter into the base model instead")
        }
        var w = GGUFWriter()
        w.add("general.architecture", .string("llama"))
        w.add("general.type", .string("adapter"))
        w.add("general.name", .string(name))
        w.add("adapter.type", .string("lora"))
        w.add("adapter.lora.alpha", .float32(llamaAlpha(weights.lora)))
        for (key, value) in base.strings(prefix: prefix).sorted(by: { $0.key < $1.key }) { w.add(key, .string(value)) }
        for key in weights.keys {
            let layer = weights.layers[key]!
            let stem = "blk.\(key.block).\(tensorName(key.target)).weight"
            w.addTensor(stem + ".lora_a", shape: layer.a.shape, values: layer.a.toArray())
            w.addTensor(stem + ".lora_b", shape: layer.b.shape, values: layer.b.toArray())
        }
        return w.encoded()
    }

    public static func write(_ weights: AdapterWeights, base: BaseIdentity, name: String, to path: String) throws(FormatError) {
        try AtomicFile.write(Data(try encode(weights, base: base, name: name, file: path)), to: path)
    }

    /// Reads a LoRA GGUF (llama.cpp's converter's or graft's). The base is the one graft's keys
    /// name, or `base`; with both, they must agree unless `force`. llama.cpp's scale alpha/r
    /// (1 without alpha) becomes plain LoRA settings with that scale.
    public static func read(_ path: String, base given: BaseIdentity?, force: Bool = false) throws(FormatError)
        -> (weights: AdapterWeights, base: BaseIdentity) {
        try read(GGUFFile(path: path), base: given, force: force)
    }

    public static func read(_ gguf: GGUFFile, base given: BaseIdentity?, force: Bool = false) throws(FormatError)
        -> (weights: AdapterWeights, base: BaseIdentity) {
        let path = gguf.path
        func bad(_ field: String, _ reason: String) -> FormatError { .invalid(path: path, field: field, reason: reason) }
        func requireString(_ key: String, _ expected: String) throws(FormatError) {
            guard case .string(let s)? = gguf.metadata[key] else { throw bad(key, "is missing or not a string (a LoRA GGUF has \(key) = \(expected))") }
            guard s == expected else { throw bad(key, "is '\(s)', not '\(expected)'") }
        }
        try requireString("general.type", "adapter")
        try requireString("adapter.type", "lora")
        try requireString("general.architecture", "llama")
        var alpha: Float = 0
        if let v = gguf.metadata["adapter.lora.alpha"] {
            guard case .float32(let a) = v else { throw bad("adapter.lora.alpha", "must be FLOAT32, found \(GGUFValue.typeName(v.typeID))") }
            guard a.isFinite, a >= 0 else { throw bad("adapter.lora.alpha", "must be a finite number ≥ 0, found \(a)") }
            alpha = a
        }
        var strings: [String: String] = [:]
        for (key, value) in gguf.metadata where key.hasPrefix(prefix) {
            guard case .string(let s) = value else { throw bad(key, "must be a string") }
            strings[key] = s
        }
        let named = try BaseIdentity.from(strings: strings, prefix: prefix, chatTemplate: nil, file: path)
        let base = try BaseMatch.choose(named: named, given: given, file: path, force: force)

        // Pair the tensors by (block, target).
        let byName = Dictionary(uniqueKeysWithValues: LoRATarget.allCases.map { (tensorName($0), $0) })
        var found: [AdapterWeights.Key: (a: GGUFTensorInfo?, b: GGUFTensorInfo?)] = [:]
        for info in gguf.tensors {
            let parts = info.name.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 5, parts[0] == "blk", let block = Int(parts[1]), block >= 0, block < base.geometry.layers,
                  let target = byName[String(parts[2])], parts[3] == "weight", parts[4] == "lora_a" || parts[4] == "lora_b" else {
                throw bad(info.name, "is not a LoRA tensor graft can apply (blk.N.{attn_q,attn_k,attn_v,attn_output,ffn_gate,ffn_up,ffn_down}.weight.lora_a/lora_b of a base with \(base.geometry.layers) blocks)")
            }
            let key = AdapterWeights.Key(block: block, target: target)
            if parts[4] == "lora_a" { found[key, default: (nil, nil)].a = info } else { found[key, default: (nil, nil)].b = info }
        }
        guard let first = found.keys.min() else { throw bad("tensors", "the file holds no LoRA tensors") }
        let targets = LoRATarget.allCases.filter { t in found.keys.contains { $0.target == t } }
        guard let firstB = found[first]?.b, firstB.dims.count == 2 else {
            throw bad("blk.\(first.block).\(tensorName(first.target)).weight.lora_b", "is missing or not a matrix")
        }
        let rank = firstB.dims[0]
        guard rank > 0 else { throw bad(firstB.name, "rank 0") }
        let lora = LoRAConfig(rank: rank, alpha: alpha == 0 ? Float(rank) : alpha, targets: targets)
        var tensors: [String: Tensor] = [:]
        for (key, pair) in found {
            let stem = "blk.\(key.block).\(tensorName(key.target)).weight"
            for (suffix, info, peft) in [("lora_a", pair.a, "lora_A.weight"), ("lora_b", pair.b, "lora_B.weight")] {
                guard let info else { throw .missing(path: path, name: "\(stem).\(suffix)") }
                tensors[key.peftPrefix + peft] = try matrix(gguf, info)
            }
        }
        for key in AdapterWeights(lora: lora, layerCount: base.geometry.layers, layers: [:]).keys where found[key] == nil {
            throw .missing(path: path, name: "blk.\(key.block).\(tensorName(key.target)).weight.lora_a (graft applies one set of targets to every block)")
        }
        let weights: AdapterWeights
        do { weights = try AdapterWeights(lora: lora, geometry: base.geometry, tensors: tensors, file: path) }
        catch let FormatError.invalid(_, field?, reason) { throw bad(ggufName(field), reason) }
        return (weights, base)
    }

    /// A 2-D tensor of a float or Q8_0 type, as Float32 in PyTorch shape.
    static func matrix(_ gguf: GGUFFile, _ info: GGUFTensorInfo) throws(FormatError) -> Tensor {
        guard info.dims.count == 2 else { throw .invalid(path: gguf.path, field: info.name, reason: "must be a matrix, has dims \(info.dims)") }
        guard [.f32, .f16, .bf16, .q8_0].contains(info.type) else {
            throw .invalid(path: gguf.path, field: info.name, reason: "type \(info.type) is not read for adapters (F32, F16, BF16 or Q8_0)")
        }
        let raw = try gguf.tensorData(info.name)
        var values = [Float](repeating: 0, count: info.count)
        let rowBytes = info.dims[0] / info.type.blockSize * info.type.blockBytes
        values.withUnsafeMutableBufferPointer { dst in
            for r in 0..<info.dims[1] {
                Dequantize.row(info.type, raw.baseAddress! + r * rowBytes, dst.baseAddress! + r * info.dims[0], count: info.dims[0])
            }
        }
        return Tensor(values, shape: info.shape)
    }

    /// The GGUF tensor name for a PEFT key in an error message.
    static func ggufName(_ peftKey: String) -> String {
        let parts = peftKey.split(separator: ".")
        guard parts.count >= 7, let block = Int(parts[4]), let target = LoRATarget(rawValue: String(parts[6])) else { return peftKey }
        let suffix = peftKey.contains("lora_A") ? "lora_a" : "lora_b"
        return "blk.\(block).\(tensorName(target)).weight.\(suffix)"
    }
}
