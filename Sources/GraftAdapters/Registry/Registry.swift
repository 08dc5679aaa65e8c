import Foundation
import GraftFormats
import GraftModel
#if canImport(Glibc)
import Glibc
#endif

/// Named, versioned, content-addressed adapters, kept under one folder (`GRAFT_HOME`, by default
/// `~/.graft`) as Ollama and OCI registries keep models:
///
/// ```
/// blobs/sha256/HEX                   the adapters' files, named by their bytes' SHA-256
/// adapters/NAME/versions/N.json      one manifest per version (`VersionManifest`)
/// adapters/NAME/tags/TAG             the version number a tag points at
/// tmp/                               files on their way into place
/// ```
///
/// Publishing writes the blobs first, then claims the next version number by hard-linking a
/// finished, flushed manifest to `N.json`; the link fails if another process claimed `N` first,
/// and the publisher tries `N + 1`. So two processes publishing one name at once both succeed with
/// distinct versions, and a publisher killed at any moment leaves either a complete version or
/// none (only unreferenced blobs and temporary files, which `collectGarbage` removes).
public struct Registry: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    /// `GRAFT_HOME` when set, else `~/.graft`.
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let home = environment["GRAFT_HOME"], !home.isEmpty { return home }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.graft"
    }

    var blobs: BlobStore { BlobStore(root: root, temporary: temporary) }
    var temporary: String { root + "/tmp" }
    func versionsFolder(_ name: String) -> String { root + "/adapters/\(name)/versions" }
    func tagsFolder(_ name: String) -> String { root + "/adapters/\(name)/tags" }
    func manifestPath(_ name: String, _ version: Int) -> String { versionsFolder(name) + "/\(version).json" }

    /// What a publisher says about a new version; the registry adds the name's next version
    /// number, the time and the files' digests.
    public struct Draft: Sendable {
        public var baseSHA256: String
        public var baseFile: String
        public var chatTemplate: String?
        public var stopTokens: [Int32]
        public var lora: LoRAConfig
        public var recipe: String?
        public var metrics: [String: Double]
        public var parent: String?

        public init(baseSHA256: String, baseFile: String, chatTemplate: String?, stopTokens: [Int32], lora: LoRAConfig,
                    recipe: String?, metrics: [String: Double] = [:], parent: String? = nil) {
            self.baseSHA256 = baseSHA256
            self.baseFile = baseFile
            self.chatTemplate = chatTemplate
            self.stopTokens = stopTokens
            self.lora = lora
            self.recipe = recipe
            self.metrics = metrics
            self.parent = parent
        }
    }

    /// The files of an adapter folder that a version holds.
    public static let adapterFiles = ["adapter.safetensors", "adapter.json"]

    /// Publishes the adapter in `folder` (`adapter.safetensors`, `adapter.json`) as the next
    /// version of `name`.
    @discardableResult
    public func publish(folder: String, as name: String, _ draft: Draft) throws(RegistryError) -> VersionManifest {
        try AdapterReference.checkName(name)
        var files: [String: String] = [:]
        for file in Self.adapterFiles {
            let path = folder + "/" + file
            guard let data = FileManager.default.contents(atPath: path) else { throw .io(path: path, reason: "no such file") }
            files[file] = try blobs.put(data)
        }
        try makeFolder(versionsFolder(name))
        try makeFolder(temporary)
        let created = ISO8601DateFormatter().string(from: Date())
        var version = (versions(of: name).last ?? 0) + 1
        while true {
            let manifest = VersionManifest(name: name, version: version, created: created, draft: draft, files: files)
            let temp = temporary + "/manifest-" + UUID().uuidString
            try writeFlushed(encode(manifest), to: temp)
            let target = manifestPath(name, version)
            let linked = link(temp, target) == 0
            let failure = errno
            unlink(temp)
            if linked {
                try? flush(versionsFolder(name))
                return manifest
            }
            guard failure == EEXIST else {
                throw .io(path: target, reason: "cannot publish the manifest: \(String(cString: strerror(failure)))")
            }
            version += 1   // another publisher took this number
        }
    }

    /// The names that have at least one version, sorted.
    public func names() -> [String] {
        let folder = root + "/adapters"
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { !versions(of: $0).isEmpty }.sorted()
    }

    /// The versions of `name`, ascending.
    public func versions(of name: String) -> [Int] {
        ((try? FileManager.default.contentsOfDirectory(atPath: versionsFolder(name))) ?? []).compactMap { file in
            file.hasSuffix(".json") ? Int(file.dropLast(5)) : nil
        }.sorted()
    }

    /// Tag → version for `name`.
    public func tags(of name: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for tag in (try? FileManager.default.contentsOfDirectory(atPath: tagsFolder(name))) ?? [] where !tag.hasPrefix(".") {
            if let text = try? String(contentsOfFile: tagsFolder(name) + "/" + tag, encoding: .utf8),
               let v = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) { out[tag] = v }
        }
        return out
    }

    public func manifest(_ name: String, version: Int) throws(RegistryError) -> VersionManifest {
        let path = manifestPath(name, version)
        guard let data = FileManager.default.contents(atPath: path) else { throw .notFound("\(name)@\(version)") }
        do { return try JSONDecoder().decode(VersionManifest.self, from: data) }
        catch { throw .io(path: path, reason: "not a version manifest: \(error)") }
    }

    /// The version a registry reference names (a folder reference is not the registry's).
    public func resolve(_ reference: AdapterReference) throws(RegistryError) -> VersionManifest {
        guard case let .registry(name, selector) = reference.source else {
            throw .badReference(reference.description, reason: "a folder, not a registry name")
        }
        switch selector {
        case .newest:
            guard let newest = versions(of: name).last else { throw .notFound(name) }
            return try manifest(name, version: newest)
        case let .version(v):
            return try manifest(name, version: v)
        case let .tag(t):
            guard let v = tags(of: name)[t] else { throw .notFound("\(name)@\(t)") }
            return try manifest(name, version: v)
        }
    }

    /// Points `tag` of the reference's name at its version (moving the tag if it exists).
    public func tag(_ reference: AdapterReference, as tag: String) throws(RegistryError) {
        try AdapterReference.checkTag(tag)
        let target = try resolve(reference)
        try makeFolder(tagsFolder(target.name))
        try makeFolder(temporary)
        let temp = temporary + "/tag-" + UUID().uuidString
        try writeFlushed(Data("\(target.version)\n".utf8), to: temp)
        let path = tagsFolder(target.name) + "/" + tag
        guard rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw .io(path: path, reason: "cannot write the tag: \(reason)")
        }
    }

    /// Removes a version. A version a tag points at is refused unless `force`, which removes
    /// those tags too. Blobs stay until `collectGarbage`.
    public func remove(_ reference: AdapterReference, force: Bool = false) throws(RegistryError) {
        let target = try resolve(reference)
        let pointing = tags(of: target.name).filter { $0.value == target.version }.keys.sorted()
        if !pointing.isEmpty {
            guard force else { throw .tagged(target.reference, tags: pointing) }
            for tag in pointing { unlink(tagsFolder(target.name) + "/" + tag) }
        }
        guard unlink(manifestPath(target.name, target.version)) == 0 else {
            throw .io(path: manifestPath(target.name, target.version), reason: "cannot remove: \(String(cString: strerror(errno)))")
        }
    }

    /// The bytes of one of a version's files, checked against its digest.
    public func fileData(_ manifest: VersionManifest, _ file: String) throws(RegistryError) -> Data {
        guard let digest = manifest.files[file] else { throw .notFound("\(manifest.reference)/\(file)") }
        return try blobs.read(digest)
    }

    /// Every problem with the versions of `reference` (all versions when nil): manifests that do
    /// not decode, blobs missing or no longer matching their digests. Empty when all is well.
    public func verify(_ reference: AdapterReference? = nil) -> [RegistryError] {
        var problems: [RegistryError] = []
        var manifests: [VersionManifest] = []
        if let reference {
            do { manifests = [try resolve(reference)] } catch { return [error] }
        } else {
            for name in names() {
                for v in versions(of: name) {
                    do { manifests.append(try manifest(name, version: v)) } catch { problems.append(error) }
                }
            }
        }
        for m in manifests {
            for file in m.files.keys.sorted() {
                do { _ = try fileData(m, file) } catch { problems.append(error) }
            }
        }
        return problems
    }

    /// Removes blobs no version refers to and temporary files left by killed writers; returns
    /// how many blobs went and their bytes. Run it when no publisher is running.
    @discardableResult
    public func collectGarbage() -> (blobs: Int, bytes: Int) {
        var used = Set<String>()
        for name in names() {
            for v in versions(of: name) {
                if let m = try? manifest(name, version: v) { used.formUnion(m.files.values) }
            }
        }
        var count = 0, bytes = 0
        for digest in blobs.all() where !used.contains(digest) {
            bytes += (try? FileManager.default.attributesOfItem(atPath: blobs.path(digest))[.size] as? Int) ?? 0
            blobs.remove(digest)
            count += 1
        }
        for file in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] { try? FileManager.default.removeItem(atPath: temporary + "/" + file) }
        return (count, bytes)
    }

    func encode(_ manifest: VersionManifest) throws(RegistryError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { return try encoder.encode(manifest) }
        catch { throw .io(path: manifestPath(manifest.name, manifest.version), reason: "cannot encode: \(error)") }
    }

    func writeFlushed(_ data: Data, to path: String) throws(RegistryError) {
        do { try data.write(to: URL(fileURLWithPath: path)) }
        catch { throw .io(path: path, reason: "cannot write: \(error.localizedDescription)") }
        try flush(path)
    }
}

extension Registry {
    /// Stores evaluation figures with a version (merged into its manifest's `eval`, under
    /// `DATASET.KEY`), replacing the manifest atomically. Returns the updated manifest.
    @discardableResult
    public func recordEvaluation(_ version: VersionManifest, dataset: String, _ values: [String: Double]) throws(RegistryError)
        -> VersionManifest {
        var updated = try manifest(version.name, version: version.version)
        for (key, value) in values { updated.eval["\(dataset).\(key)"] = value }
        let path = manifestPath(updated.name, updated.version)
        do { try AtomicFile.write(try encode(updated), to: path) } catch { throw .io(path: path, reason: "\(error)") }
        return updated
    }
}
