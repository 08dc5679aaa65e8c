import Foundation
import GraftFormats
import GraftModel
import GraftTensor

/// Hugging Face PEFT's adapter folder (formats.md §4): `adapter_config.json`,
/// `adapter_model.safetensors` with PEFT's keys and Hugging Face row order for q/k (rotate-half
/// RoPE), and, as transformers keeps it, `chat_template.jinja`. Graft's exports also name their
/// base in the safetensors metadata (`graft.base_sha256`, sizes, stop tokens).
public enum PeftFolder {
    public static let configFile = "adapter_config.json"
    public static let weightsFile = "adapter_model.safetensors"
    public static let templateFile = "chat_template.jinja"
    static let prefix = "graft."

    /// Writes `weights` (q/k rows in the GGUF base's order, as graft keeps them) as a PEFT
    /// adapter of `base`. Each file is written whole or not at all.
    public static func write(_ weights: AdapterWeights, base: BaseIdentity, to folder: String) throws(FormatError) {
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        catch { throw .io(path: folder, reason: "cannot create the folder: \(error.localizedDescription)") }
        let hfOrder = weights.permutingQK(base.geometry.hfFromGGUF)
        var metadata = base.strings(prefix: prefix)
        metadata["format"] = "pt"
        try SafetensorsFile.write(hfOrder.peftTensors, metadata: metadata, to: path(folder, weightsFile))
        if let template = base.chatTemplate { try AtomicFile.write(Data(template.utf8), to: path(folder, templateFile)) }
        try AtomicFile.write(PeftConfig.encode(weights.lora, baseModel: base.file), to: path(folder, configFile))
    }

    /// Reads a PEFT adapter folder. The base is the one its metadata names (graft's exports), or
    /// `base` when given; with both, they must agree unless `force`. Returns the weights with q/k
    /// rows in the GGUF base's order.
    public static func read(_ folder: String, base given: BaseIdentity?, force: Bool = false) throws(FormatError)
        -> (weights: AdapterWeights, base: BaseIdentity) {
        let configPath = path(folder, configFile), weightsPath = path(folder, weightsFile)
        guard let config = FileManager.default.contents(atPath: configPath) else { throw .io(path: configPath, reason: "no such file") }
        guard FileManager.default.fileExists(atPath: weightsPath) else {
            let legacy = FileManager.default.fileExists(atPath: path(folder, "adapter_model.bin"))
            throw .io(path: weightsPath, reason: legacy ? "no such file (adapter_model.bin, PyTorch's pickle format, is not read: save with safe_serialization)" : "no such file")
        }
        let template = FileManager.default.contents(atPath: path(folder, templateFile)).map { String(decoding: $0, as: UTF8.self) }
        return try decode(config: config, configPath: configPath, weights: SafetensorsFile(path: weightsPath),
                          chatTemplate: template, base: given, force: force)
    }

    /// `read` on contents already in memory (the fuzzer's entry).
    public static func decode(config: Data, configPath: String, weights file: SafetensorsFile, chatTemplate: String?,
                              base given: BaseIdentity?, force: Bool = false) throws(FormatError)
        -> (weights: AdapterWeights, base: BaseIdentity) {
        let lora = try PeftConfig.parse(config, path: configPath)
        let named = try BaseIdentity.from(strings: file.metadata, prefix: prefix, chatTemplate: chatTemplate, file: file.path)
        let base = try BaseMatch.choose(named: named, given: given, file: file.path, force: force)
        var tensors: [String: Tensor] = [:]
        for e in file.entries {
            guard [.f32, .f16, .bf16].contains(e.dtype) else {
                throw .invalid(path: file.path, field: e.name, reason: "dtype \(e.dtype.rawValue) is not a floating-point LoRA weight (F32, F16 or BF16)")
            }
            tensors[e.name] = try file.tensor(e.name)
        }
        let hfOrder = try AdapterWeights(lora: lora, geometry: base.geometry, tensors: tensors, file: file.path)
        return (hfOrder.permutingQK(base.geometry.ggufFromHF), base)
    }

    static func path(_ folder: String, _ file: String) -> String { (folder as NSString).appendingPathComponent(file) }
}

/// Which base an imported adapter belongs to: the one its file names, the one the user gave, or
/// (both present) the same one.
enum BaseMatch {
    static func choose(named: BaseIdentity?, given: BaseIdentity?, file: String, force: Bool) throws(FormatError) -> BaseIdentity {
        switch (named, given) {
        case (nil, nil):
            throw .invalid(path: file, field: nil, reason: "the adapter does not name its base model's hash; give the base model")
        case let (n?, nil): return n
        case let (nil, g?): return g
        case let (n?, g?):
            guard force || n.sha256 == g.sha256 else {
                throw .invalid(path: file, field: "base_sha256", reason: "the adapter was trained on \(n.file) (sha256 \(n.sha256)), not on \(g.file) (sha256 \(g.sha256))")
            }
            var chosen = g
            if chosen.chatTemplate == nil { chosen.chatTemplate = n.chatTemplate }
            return chosen
        }
    }
}
