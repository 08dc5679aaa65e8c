import Foundation
import GraftAdapters
import GraftEngine

/// Which weights a request's `model` (and `adapters`) names: the base, an adapter version from
/// the registry (`sql`, `sql@3`, `sql@prod`), a folder loaded under a name (`POST /v1/adapters`),
/// or, for a bare name under a rollout, the version the rollout gives the request's user.
/// Requests never name folders themselves: a path in `model` is refused, so a client cannot make
/// the server read files of its choosing.
public final class ModelRouter: @unchecked Sendable {
    /// The base's model id (the GGUF file's name without `.gguf`).
    public let baseID: String
    public let cache: AdapterCache
    private let lock = NSLock()
    private var aliases: [String: String] = [:]
    private var rollouts: [String: Rollout] = [:]
    /// Adapters loaded by `--adapter` or `POST /v1/adapters`, pinned until deleted, by reference.
    private var held: [String: AdapterCache.Acquired] = [:]
    /// The version a bare name last resolved to, to count swaps.
    private var servedVersion: [String: Int] = [:]
    private var swapCount = 0

    public init(baseID: String, cache: AdapterCache) {
        self.baseID = baseID
        self.cache = cache
    }

    /// One adapter a request uses, pinned in the cache until the request ends.
    public struct Selection: @unchecked Sendable {
        public var acquired: AdapterCache.Acquired
        public var scale: Float
    }

    /// Resolves a model id to the adapters it means (none for the base). `param` names the
    /// request field in errors; `user` places the request in a rollout.
    public func resolve(_ model: String, scale: Float = 1, user: String?, param: String = "model") throws(APIError) -> [Selection] {
        if model == baseID { return [] }
        let reference: AdapterReference
        do { reference = try AdapterReference(parsing: model) } catch {
            throw .modelNotFound(model, param: param, reason: "\(error)")
        }
        guard reference.scale == 1, !model.contains(":") else {
            throw .invalid(param, "'\(param)' names a model; give a scale in 'adapters': [{\"model\": \"\(model.split(separator: ":").first ?? "")\", \"scale\": …}]")
        }
        var text = model
        lock.lock()
        switch reference.source {
        case .folder:
            lock.unlock()
            throw .modelNotFound(model, param: param, reason: "folders are loaded with POST /v1/adapters {\"path\": …, \"model\": NAME}, then used by NAME")
        case .registry(let name, .newest):
            if let path = aliases[name] {
                text = path
            } else if let rollout = rollouts[name] {
                text = "\(name)@\(rollout.version(name: name, user: user))"
            }
        case .registry:
            break
        }
        lock.unlock()
        let acquired: AdapterCache.Acquired
        do { acquired = try cache.acquireVersion(text) } catch let error as EngineError {
            throw .invalid(param, "\(error)", code: "adapter_base_mismatch")
        } catch {
            throw .modelNotFound(model, param: param, reason: "\(error)")
        }
        var served = acquired
        if case .registry(let name, _) = reference.source, let alias = aliasName(name) { served.reference = alias }
        noteServed(served)
        return [Selection(acquired: served, scale: scale)]
    }

    private func aliasName(_ name: String) -> String? {
        lock.lock()
        defer { lock.unlock() }
        return aliases[name] != nil ? name : nil
    }

    /// Counts a swap when a name starts serving another version than it did (a publish or a load
    /// of a newer version while requests stream), outside rollouts, which mix on purpose.
    private func noteServed(_ acquired: AdapterCache.Acquired) {
        guard let name = acquired.name, let version = acquired.version else { return }
        lock.lock()
        defer { lock.unlock() }
        guard rollouts[name] == nil else { return }
        if let previous = servedVersion[name], previous != version, version > previous { swapCount += 1 }
        servedVersion[name] = max(version, servedVersion[name] ?? 0)
    }

    public var swaps: Int {
        lock.lock()
        defer { lock.unlock() }
        return swapCount
    }

    // MARK: adapters at run time

    /// Loads and pins a registry version (`sql@4`), or a folder under a name. Returns what is
    /// now served for it.
    @discardableResult
    public func load(reference: String?, path: String?, name: String?) throws(APIError) -> AdapterCache.Acquired {
        if let path {
            guard let name else { throw .invalid("model", "a folder needs a 'model' name to be served under") }
            do { try AdapterReference.checkName(name) } catch { throw .invalid("model", "\(error)") }
            let text = path.hasPrefix("/") || path.hasPrefix(".") || path.hasPrefix("~") ? path : "./" + path
            let acquired: AdapterCache.Acquired
            do { acquired = try cache.acquireVersion(text) } catch {
                throw .invalid("path", "\(error)")
            }
            lock.lock()
            aliases[name] = text
            var served = acquired
            served.reference = name
            if let old = held.updateValue(served, forKey: name) { cache.release(old.adapter) }
            lock.unlock()
            return served
        }
        guard let reference else { throw .invalid("model", "give 'model' (a registry reference such as sql@4) or 'path' and 'model'") }
        let selections = try resolve(reference, user: nil)
        guard let acquired = selections.first?.acquired else { throw .invalid("model", "the base is always loaded") }
        lock.lock()
        if let old = held.updateValue(acquired, forKey: acquired.reference) { cache.release(old.adapter) }
        if let name = acquired.name, let version = acquired.version, rollouts[name] == nil,
           let previous = servedVersion[name], previous != version {
            swapCount += 1
        }
        lock.unlock()
        return acquired
    }

    /// Unpins a loaded adapter (a reference or a folder's name) and drops it from the cache:
    /// requests running on it finish first, as the cache keeps a version alive while pinned.
    public func unload(_ text: String) throws(APIError) -> Bool {
        lock.lock()
        let alias = aliases.removeValue(forKey: text)
        let holding = held.removeValue(forKey: text)
        lock.unlock()
        if let holding { cache.release(holding.adapter) }
        do {
            let dropped = try cache.unload(alias ?? text)
            return dropped || holding != nil
        } catch {
            if holding != nil || alias != nil { return true }
            throw .modelNotFound(text, reason: "\(error)")
        }
    }

    /// What `--adapter` and `POST /v1/adapters` hold, by reference or name.
    public var loadedReferences: [(reference: String, label: String, bytes: Int)] {
        lock.lock()
        defer { lock.unlock() }
        return held.keys.sorted().map { ($0, held[$0]!.adapter.label, held[$0]!.adapter.bytes) }
    }

    // MARK: rollouts

    public func setRollout(_ name: String, _ rollout: Rollout?) throws(APIError) {
        do { try AdapterReference.checkName(name) } catch { throw .invalid("name", "\(error)") }
        if let rollout {
            for version in rollout.weights.keys where (try? cache.registry.manifest(name, version: version)) == nil {
                throw .modelNotFound("\(name)@\(version)", param: "versions", reason: "no such version in the registry")
            }
        }
        lock.lock()
        rollouts[name] = rollout
        lock.unlock()
    }

    public func rollout(_ name: String) -> Rollout? {
        lock.lock()
        defer { lock.unlock() }
        return rollouts[name]
    }

    public var allRollouts: [String: Rollout] {
        lock.lock()
        defer { lock.unlock() }
        return rollouts
    }

    /// Every registry adapter made for this base, newest version first per name.
    public func registryModels() -> [(id: String, created: String, parent: String?)] {
        var out: [(String, String, String?)] = []
        let registry = cache.registry
        for name in registry.names() {
            let versions = registry.versions(of: name).sorted(by: >)
            for (i, version) in versions.enumerated() {
                guard let manifest = try? registry.manifest(name, version: version), manifest.baseSHA256 == cache.base.sha256 else { continue }
                if i == 0 { out.append((name, manifest.created, manifest.parent)) }
                out.append((manifest.reference, manifest.created, manifest.parent))
            }
        }
        lock.lock()
        let names = aliases.keys.sorted()
        lock.unlock()
        for name in names { out.append((name, "", nil)) }
        return out
    }
}
