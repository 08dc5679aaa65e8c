import Foundation
import GraftFormats
import GraftModel
import GraftTensor

/// A trained adapter on disk: `adapter.safetensors` (PEFT's tensor keys, Float32) and
/// `adapter.json` (the LoRA settings, the base model's SHA-256 and file name, and the row order
/// of q/k projections). Loading checks the base's hash, so an adapter is never applied to a
/// model it was not trained on.
public struct AdapterDirectory {
    public struct Manifest: Codable, Equatable, Sendable {
        public var format = "graft-adapter-1"
        public var name: String
        public var baseSHA256: String
        public var baseFile: String
        public var lora: LoRAConfig
        /// "gguf": q_proj/k_proj rows follow the GGUF base's permuted (adjacent-pair RoPE) order.
        public var qkRowOrder = "gguf"
        public var trainedSteps: Int
        /// The base's sizes (absent in folders written before exports existed).
        public var geometry: BaseGeometry?

        public init(name: String, baseSHA256: String, baseFile: String, lora: LoRAConfig, trainedSteps: Int,
                    geometry: BaseGeometry? = nil) {
            self.name = name
            self.baseSHA256 = baseSHA256
            self.baseFile = baseFile
            self.lora = lora
            self.trainedSteps = trainedSteps
            self.geometry = geometry
        }

        enum CodingKeys: String, CodingKey {
            case format, name, lora, geometry
            case baseSHA256 = "base_sha256", baseFile = "base_file", qkRowOrder = "qk_row_order", trainedSteps = "trained_steps"
        }
    }

    public let path: String

    public init(path: String) { self.path = path }

    var tensorsPath: String { (path as NSString).appendingPathComponent("adapter.safetensors") }
    var manifestPath: String { (path as NSString).appendingPathComponent("adapter.json") }

    /// Writes the adapter's weights and manifest (each file atomically).
    public func write(_ adapters: LoRAAdapterSet, manifest: Manifest) throws(FormatError) {
        var tensors: [String: Tensor] = [:]
        for (name, t) in adapters.namedParameters { tensors[name] = t.detached() }
        try write(tensors: tensors, manifest: manifest)
    }

    func write(tensors: [String: Tensor], manifest: Manifest) throws(FormatError) {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        catch { throw .io(path: path, reason: "cannot create the adapter folder: \(error.localizedDescription)") }
        try SafetensorsFile.write(tensors, metadata: ["format": "pt", "graft": manifest.format], to: tensorsPath)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let json = try? encoder.encode(manifest) else { throw .invalid(path: manifestPath, field: "manifest", reason: "cannot encode") }
        try AtomicFile.write(json, to: manifestPath)
    }

    /// Writes adapter weights held apart from a model (an import, a conversion).
    public func write(_ weights: AdapterWeights, manifest: Manifest) throws(FormatError) {
        try write(tensors: weights.peftTensors, manifest: manifest)
    }

    /// The adapter's tensors, checked against `geometry` (every expected tensor present with the
    /// base's shape, nothing else).
    public func readWeights(geometry: BaseGeometry) throws(FormatError) -> AdapterWeights {
        let manifest = try readManifest()
        let file = try SafetensorsFile(path: tensorsPath)
        var tensors: [String: Tensor] = [:]
        for name in file.names { tensors[name] = try file.tensor(name) }
        return try AdapterWeights(lora: manifest.lora, geometry: geometry, tensors: tensors, file: tensorsPath)
    }

    public func readManifest() throws(FormatError) -> Manifest {
        guard let data = FileManager.default.contents(atPath: manifestPath) else { throw .io(path: manifestPath, reason: "no such file") }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: data) }
        catch { throw .invalid(path: manifestPath, field: "manifest", reason: "\(error)") }
        let lora = manifest.lora
        func bad(_ field: String, _ reason: String) -> FormatError { .invalid(path: manifestPath, field: field, reason: reason) }
        guard lora.rank >= 1, lora.rank <= 65536 else { throw bad("lora.rank", "must be between 1 and 65536, found \(lora.rank)") }
        guard lora.alpha.isFinite, lora.alpha > 0 else { throw bad("lora.alpha", "must be a positive number, found \(lora.alpha)") }
        guard lora.dropout >= 0, lora.dropout < 1 else { throw bad("lora.dropout", "must be in [0, 1), found \(lora.dropout)") }
        guard !lora.targets.isEmpty else { throw bad("lora.targets", "names no module") }
        try manifest.geometry?.validate(file: manifestPath, field: "geometry")
        return manifest
    }

    /// Attaches the saved adapter to `model`, whose file must have the manifest's SHA-256 unless
    /// `force` is set. `scale` multiplies the adapter's update (B is scaled: W + scale·s·BA).
    @discardableResult
    public func attach(to model: LlamaModel, baseSHA256: String, scale: Float = 1, force: Bool = false) throws -> LoRAAdapterSet {
        let manifest = try readManifest()
        guard force || manifest.baseSHA256 == baseSHA256 else {
            throw FormatError.invalid(path: manifestPath, field: "base_sha256",
                                      reason: "the adapter was trained on \(manifest.baseFile) (sha256 \(manifest.baseSHA256)), not on this model (sha256 \(baseSHA256))")
        }
        let file = try SafetensorsFile(path: tensorsPath)
        var weights: [String: Tensor] = [:]
        for name in file.names {
            let t = try file.tensor(name)
            weights[name] = scale != 1 && name.contains("lora_B") ? t * scale : t
        }
        return try model.attachLoRA(manifest.lora, weights: weights)
    }
}
