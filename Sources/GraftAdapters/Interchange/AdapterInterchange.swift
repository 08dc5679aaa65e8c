import Foundation
import GraftFormats
import GraftModel

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
        let (path, version) = try folder()
        let directory = AdapterDirectory(path: path)
        let manifest = try directory.readManifest()
        let manifestPath = (path as NSString).appendingPathComponent("adapter.json")
        var base: BaseIdentity
        if let model {
            base = try BaseIdentity(model: model)
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
