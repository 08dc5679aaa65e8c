import Foundation
import GraftFormats
import GraftModel
import GraftTensor

/// An adapter read apart from any model, ready to export or merge: its weights (q/k rows in the
/// GGUF base's order), its base, the label that names it (`sql@3`, a folder) and the
/// reference's scale.
public struct LoadedAdapter {
    public var weights: AdapterWeights
    public var base: BaseIdentity
    public var label: String
    public var scale: Float
}

extension AdapterSource {
    /// Reads the adapter with its base's identity. The base model file, when given, is checked
    /// against the adapter's base hash (unless `force`) and supplies the sizes and template;
    /// without it they come from the adapter's manifest and registry version.
    public func load(model: String?, force: Bool = false) throws -> LoadedAdapter {
        try load(base: model.map { try BaseIdentity(model: $0) }, force: force)
    }

    /// `load(model:)` with the base's identity already read (several adapters on one base read
    /// and hash the base file once).
    public func load(base given: BaseIdentity?, force: Bool = false) throws -> LoadedAdapter {
        let (path, version) = try folder()
        let directory = AdapterDirectory(path: path)
        let manifest = try directory.readManifest()
        let manifestPath = (path as NSString).appendingPathComponent("adapter.json")
        var base: BaseIdentity
        if let given {
            base = given
            guard force || base.sha256 == manifest.baseSHA256 else {
                throw FormatError.invalid(path: manifestPath, field: "base_sha256",
                                          reason: "the adapter was trained on \(manifest.baseFile) (sha256 \(manifest.baseSHA256)), not on \(base.file) (sha256 \(base.sha256))")
            }
        } else {
            guard let geometry = manifest.geometry else {
                throw FormatError.invalid(path: manifestPath, field: "geometry",
                                          reason: "the manifest does not record the base's sizes (it predates exports); give the base model")
            }
            base = BaseIdentity(sha256: manifest.baseSHA256, file: manifest.baseFile, geometry: geometry,
                                chatTemplate: version?.chatTemplate, stopTokens: version?.stopTokens ?? [])
        }
        let weights = try directory.readWeights(geometry: base.geometry)
        return LoadedAdapter(weights: weights, base: base, label: version?.reference ?? path, scale: reference.scale)
    }
}

extension Registry {
    /// Publishes adapter weights read from another format as the next version of `name`, with
    /// their base's hash, template and stop tokens. A failure leaves no version behind.
    @discardableResult
    public func publish(_ weights: AdapterWeights, base: BaseIdentity, as name: String) throws -> VersionManifest {
        try AdapterReference.checkName(name)
        let folder = temporary + "/import-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try AdapterDirectory(path: folder).write(weights, manifest: .init(
            name: name, baseSHA256: base.sha256, baseFile: base.file, lora: weights.lora, trainedSteps: 0,
            geometry: base.geometry))
        return try publish(folder: folder, as: name, Draft(
            baseSHA256: base.sha256, baseFile: base.file, chatTemplate: base.chatTemplate, stopTokens: base.stopTokens,
            lora: weights.lora, recipe: nil))
    }
}

extension AdapterSource {
    /// The weights to continue training from, for a recipe whose LoRA settings are `lora` on the
    /// base with `baseSHA256`, and the parent the new version records (`sql@3`, or the folder).
    /// The adapter must have been trained on that base and with the same rank, alpha, targets,
    /// rsLoRA and DoRA settings, or the continued adapter would compute something else.
    public func continuation(for lora: LoRAConfig, baseSHA256: String) throws -> (weights: [String: Tensor], parent: String) {
        let (path, version) = try folder()
        let directory = AdapterDirectory(path: path)
        let manifest = try directory.readManifest()
        let label = version?.reference ?? path
        guard manifest.baseSHA256 == baseSHA256 else {
            throw FormatError.invalid(path: path, field: "lora.from",
                                      reason: "\(label) was trained on \(manifest.baseFile) (sha256 \(manifest.baseSHA256)), not on the recipe's model (sha256 \(baseSHA256))")
        }
        let theirs = manifest.lora
        for (key, same, values) in [
            ("lora.rank", theirs.rank == lora.rank, "\(theirs.rank) vs \(lora.rank)"),
            ("lora.alpha", theirs.alpha == lora.alpha, "\(theirs.alpha) vs \(lora.alpha)"),
            ("lora.targets", Set(theirs.targets) == Set(lora.targets), "\(theirs.targets.map(\.rawValue)) vs \(lora.targets.map(\.rawValue))"),
            ("lora.rslora", theirs.rsLoRA == lora.rsLoRA, "\(theirs.rsLoRA) vs \(lora.rsLoRA)"),
            ("lora.dora", theirs.dora == lora.dora, "\(theirs.dora) vs \(lora.dora)"),
        ] where !same {
            throw FormatError.invalid(path: path, field: key, reason: "\(label) was trained with another setting than the recipe's (adapter vs recipe: \(values))")
        }
        let file = try SafetensorsFile(path: (path as NSString).appendingPathComponent("adapter.safetensors"))
        var weights: [String: Tensor] = [:]
        for name in file.names { weights[name] = try file.tensor(name) }
        return (weights, label)
    }
}
