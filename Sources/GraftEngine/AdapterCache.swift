import Foundation
import GraftAdapters
import GraftFormats
import GraftModel

/// Adapters the engine serves, loaded from the registry (or a folder) on first use and kept in
/// memory under a size limit, least recently used first out. A request pins the adapters it was
/// admitted with until it ends, so it finishes on that version even if a newer one is published
/// or the entry is evicted meanwhile (an evicted adapter's memory goes with its last user).
/// Entries are keyed by the weights' content hash, so a new version never reuses an old one.
public final class AdapterCache: @unchecked Sendable {
    public struct Stats: Sendable, Equatable {
        public var loads = 0
        public var hits = 0
        public var evictions = 0
        public var unloads = 0
        public var entries = 0
        public var bytes = 0
        public var pinned = 0
    }

    public let registry: Registry
    public let base: BaseIdentity
    public let limitBytes: Int
    /// How loaded adapters are held (`ServedAdapter.Precision`).
    public let precision: ServedAdapter.Precision
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private var clock = 0
    private var counters = Stats()
    private var folderHashes: [String: (stamp: String, hash: String)] = [:]

    final class Entry {
        let adapter: ServedAdapter
        var pins = 0
        var lastUse = 0
        init(_ adapter: ServedAdapter) { self.adapter = adapter }
    }

    public init(registry: Registry, base: BaseIdentity, limitBytes: Int = 512 << 20, precision: ServedAdapter.Precision = .float32) {
        self.registry = registry
        self.precision = precision
        self.base = base
        self.limitBytes = limitBytes
    }

    /// The adapter a reference names (`sql`, `sql@3`, `sql@prod:0.5`, a folder) and its scale,
    /// pinned until `release`. A bare name resolves to the newest version at this moment.
    public func acquire(_ text: String, force: Bool = false) throws -> (adapter: ServedAdapter, scale: Float) {
        let acquired = try acquireVersion(text, force: force)
        return (acquired.adapter, acquired.scale)
    }

    /// What `acquire` gives, with the version the reference resolved to at this moment
    /// (`sql@4` for `sql`; the folder's path for a folder): what a server names in its answer.
    public struct Acquired: @unchecked Sendable {
        public var adapter: ServedAdapter
        public var scale: Float
        public var reference: String
        public var name: String?
        public var version: Int?
    }

    public func acquireVersion(_ text: String, force: Bool = false) throws -> Acquired {
        let source = try AdapterSource(text, registry: registry)
        // The hot path reads only the registry's manifests (or a folder's file attributes): the
        // files are checked out, read and hashed only when the version is not in memory.
        var version: VersionManifest?
        var folder: String?
        switch source.reference.source {
        case .folder: folder = try source.folder().path
        case .registry: version = try registry.resolve(source.reference)
        }
        func files() throws -> String {
            if folder == nil, let version { folder = try registry.checkout(version) }
            return folder ?? ""
        }
        let key = try version?.files["adapter.safetensors"] ?? weightsHash(folder: files())
        let label = version?.reference ?? (folder ?? "")
        lock.lock()
        if let entry = entries[key] {
            pin(entry)
            counters.hits += 1
            lock.unlock()
            return Acquired(adapter: entry.adapter, scale: source.reference.scale, reference: label, name: version?.name, version: version?.version)
        }
        lock.unlock()
        let directory = AdapterDirectory(path: try files())
        let manifest = try directory.readManifest()
        guard force || manifest.baseSHA256 == base.sha256 else {
            throw EngineError.adapter(label, reason: "it was trained on \(manifest.baseFile) (sha256 \(manifest.baseSHA256)), not on this model (sha256 \(base.sha256))")
        }
        let adapter = try ServedAdapter(label: label, contentHash: key, weights: directory.readWeights(geometry: base.geometry), precision: precision)
        lock.lock()
        defer { lock.unlock() }
        let entry = entries[key] ?? Entry(adapter)   // another caller may have loaded it meanwhile
        if entries[key] == nil {
            entries[key] = entry
            counters.loads += 1
        }
        pin(entry)
        evict()
        return Acquired(adapter: entry.adapter, scale: source.reference.scale, reference: label, name: version?.name, version: version?.version)
    }

    /// The SHA-256 of a folder's `adapter.safetensors`, hashed again only when the file's size
    /// or modification time changes.
    private func weightsHash(folder: String) throws -> String {
        let file = (folder as NSString).appendingPathComponent("adapter.safetensors")
        let attributes = try? FileManager.default.attributesOfItem(atPath: file)
        let stamp = "\((attributes?[.size] as? NSNumber)?.intValue ?? -1)/\((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
        lock.lock()
        if let known = folderHashes[file], known.stamp == stamp, attributes != nil {
            lock.unlock()
            return known.hash
        }
        lock.unlock()
        let hash = try ContentHash.sha256(path: file)
        lock.lock()
        folderHashes[file] = (stamp, hash)
        lock.unlock()
        return hash
    }

    /// The adapters in memory now: label of their first load, content hash, bytes and pins.
    public var loaded: [(label: String, contentHash: String, bytes: Int, pins: Int)] {
        lock.lock()
        defer { lock.unlock() }
        return entries.values.map { ($0.adapter.label, $0.adapter.contentHash, $0.adapter.bytes, $0.pins) }.sorted { $0.label < $1.label }
    }

    /// Drops the version a reference names from the cache: later requests load it again (or a
    /// newer version), while requests that hold it finish on it; its memory goes with the last
    /// of them. Returns false when it was not loaded.
    @discardableResult
    public func unload(_ text: String) throws -> Bool {
        let source = try AdapterSource(text, registry: registry)
        let (path, version) = try source.folder()
        let key = try version?.files["adapter.safetensors"]
            ?? ContentHash.sha256(path: (path as NSString).appendingPathComponent("adapter.safetensors"))
        lock.lock()
        defer { lock.unlock() }
        guard entries.removeValue(forKey: key) != nil else { return false }
        counters.unloads += 1
        return true
    }

    /// Unpins an adapter from `acquire` (the engine calls it when a request ends).
    public func release(_ adapter: ServedAdapter) {
        lock.lock()
        defer { lock.unlock() }
        if let entry = entries[adapter.contentHash], entry.adapter === adapter, entry.pins > 0 { entry.pins -= 1 }
        evict()
    }

    public var stats: Stats {
        lock.lock()
        defer { lock.unlock() }
        var s = counters
        s.entries = entries.count
        s.bytes = entries.values.reduce(0) { $0 + $1.adapter.bytes }
        s.pinned = entries.values.filter { $0.pins > 0 }.count
        return s
    }

    private func pin(_ entry: Entry) {
        clock += 1
        entry.pins += 1
        entry.lastUse = clock
    }

    /// Drops least recently used unpinned entries while over the limit.
    private func evict() {
        var bytes = entries.values.reduce(0) { $0 + $1.adapter.bytes }
        while bytes > limitBytes,
              let victim = entries.filter({ $0.value.pins == 0 }).min(by: { $0.value.lastUse < $1.value.lastUse }) {
            entries[victim.key] = nil
            bytes -= victim.value.adapter.bytes
            counters.evictions += 1
        }
    }
}
