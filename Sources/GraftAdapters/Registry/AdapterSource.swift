import Foundation
import GraftFormats
import GraftModel

extension Registry {
    /// A folder holding a version's files (`adapter.safetensors`, `adapter.json`), written from
    /// their verified blobs the first time it is asked for (`checkouts/NAME/VERSION/`), so code
    /// that reads adapter folders reads registry versions too.
    public func checkout(_ manifest: VersionManifest) throws(RegistryError) -> String {
        let folder = root + "/checkouts/\(manifest.name)/\(manifest.version)"
        for file in manifest.files.keys.sorted() {
            let path = folder + "/" + file
            if let existing = FileManager.default.contents(atPath: path),
               existing.withUnsafeBytes({ ContentHash.sha256($0) }) == manifest.files[file] { continue }
            let data = try fileData(manifest, file)
            try makeFolder(folder)
            do { try AtomicFile.write(data, to: path) } catch { throw .io(path: path, reason: "\(error)") }
        }
        return folder
    }
}

/// An adapter named by a reference (`sql`, `sql@3`, `sql@prod:0.5`, or a folder), resolved
/// against the registry and attached to a model.
public struct AdapterSource {
    public let reference: AdapterReference
    public let registry: Registry

    public init(_ text: String, registry: Registry = Registry(root: Registry.defaultRoot())) throws(RegistryError) {
        reference = try AdapterReference(parsing: text)
        self.registry = registry
    }

    /// The folder with the adapter's files, and the version it came from (nil for a folder).
    public func folder() throws(RegistryError) -> (path: String, version: VersionManifest?) {
        switch reference.source {
        case let .folder(path): return ((path as NSString).expandingTildeInPath, nil)
        case .registry:
            let manifest = try registry.resolve(reference)
            return (try registry.checkout(manifest), manifest)
        }
    }

    /// Attaches the adapter, scaled by the reference's scale, to `model`, whose file must have the
    /// SHA-256 the adapter was trained on unless `force` is set.
    @discardableResult
    public func attach(to model: LlamaModel, baseSHA256: String, force: Bool = false) throws -> LoRAAdapterSet {
        try AdapterDirectory(path: folder().path).attach(to: model, baseSHA256: baseSHA256, scale: reference.scale, force: force)
    }
}

extension Registry.Draft {
    /// What an adapter folder's own manifest says (base, LoRA settings), with the base's chat
    /// template and stop tokens when the base is at hand.
    public init(_ manifest: AdapterDirectory.Manifest, chatTemplate: String?, stopTokens: [Int32]) {
        self.init(baseSHA256: manifest.baseSHA256, baseFile: manifest.baseFile, chatTemplate: chatTemplate,
                  stopTokens: stopTokens, lora: manifest.lora, recipe: nil, metrics: [:])
    }
}
