import Foundation
import GraftEngine
import HTTPTypes
import Hummingbird

/// `/v1/models`, `/v1/adapters` and rollouts.
extension GraftServer {
    /// The base and every adapter of the registry made for it (each name, which serves its
    /// newest version, and each version), with `parent` the base, as vLLM lists LoRA modules.
    func models() -> Response { Self.json(["object": "list", "data": modelList()]) }

    func modelList() -> [[String: Any]] {
        let created = Int(Date().timeIntervalSince1970)
        var data: [[String: Any]] = [["id": router.baseID, "object": "model", "created": created, "owned_by": "graft", "root": router.baseID,
                                      "parent": NSNull()]]
        let formatter = ISO8601DateFormatter()
        for m in router.registryModels() {
            var entry: [String: Any] = ["id": m.id, "object": "model", "owned_by": "graft", "root": m.id, "parent": router.baseID]
            entry["created"] = formatter.date(from: m.created).map { Int($0.timeIntervalSince1970) } ?? created
            if let parent = m.parent { entry["trained_from"] = parent }
            data.append(entry)
        }
        return data
    }

    func model(_ id: String) throws -> Response {
        guard let body = modelList().first(where: { $0["id"] as? String == id }) else {
            throw APIError.modelNotFound(id)
        }
        return Self.json(body)
    }

    func adapters() -> Response {
        let stats = router.cache.stats
        let loaded = router.cache.loaded.map { ["model": $0.label, "content_hash": $0.contentHash, "bytes": $0.bytes, "in_use": $0.pins] as [String: Any] }
        let held = router.loadedReferences.map { ["model": $0.reference, "serves": $0.label, "bytes": $0.bytes] as [String: Any] }
        var rollouts: [String: Any] = [:]
        for (name, r) in router.allRollouts { rollouts[name] = Self.rolloutObject(r) }
        return Self.json(["object": "list", "data": loaded, "pinned": held, "rollouts": rollouts,
                          "cache": ["loads": stats.loads, "hits": stats.hits, "evictions": stats.evictions, "unloads": stats.unloads,
                                    "bytes": stats.bytes, "limit_bytes": router.cache.limitBytes, "swaps": router.swaps]])
    }

    /// `{"model": "sql@4"}` or `{"path": DIR, "model": NAME}`.
    func loadAdapter(_ request: Request) async throws -> Response {
        let f = try RequestFields(try await collect(request.body))
        let acquired = try router.load(reference: try f.string("model"), path: try f.string("path"), name: try f.string("model"))
        return Self.json(["model": acquired.reference, "loaded": acquired.adapter.label, "bytes": acquired.adapter.bytes,
                          "rank": acquired.adapter.rank], status: .created)
    }

    func unloadAdapter(_ ref: String) throws -> Response {
        guard try router.unload(ref) else { throw APIError.modelNotFound(ref, reason: "it is not loaded") }
        return Self.json(["model": ref, "unloaded": true])
    }

    static func rolloutObject(_ r: Rollout) -> [String: Any] {
        var versions: [String: Any] = [:]
        for v in r.members { versions[String(v)] = ((r.shares.first { $0.version == v }?.share ?? 0) * 1000).rounded() / 10 }
        return ["versions": versions]
    }

    func getRollout(_ name: String) throws -> Response {
        guard let r = router.rollout(name) else { throw APIError.modelNotFound(name, reason: "no rollout is set for it") }
        return Self.json(["model": name] .merging(Self.rolloutObject(r)) { a, _ in a })
    }

    /// `{"versions": {"3": 90, "4": 10}}`: requests for `name` go to versions by weight, each
    /// user to one version.
    func putRollout(_ name: String, _ request: Request) async throws -> Response {
        let f = try RequestFields(try await collect(request.body))
        let rollout = try Rollout(fields: f)
        try router.setRollout(name, rollout)
        return Self.json(["model": name].merging(Self.rolloutObject(rollout)) { a, _ in a })
    }

    func deleteRollout(_ name: String) throws -> Response {
        guard router.rollout(name) != nil else { throw APIError.modelNotFound(name, reason: "no rollout is set for it") }
        try router.setRollout(name, nil)
        return Self.json(["model": name, "rollout": NSNull()])
    }

    /// Promote (all traffic to the newest version of the rollout, or the one in `{"version": N}`)
    /// or roll back (all to the oldest): one call, and the rollout stays in place at 100%.
    func settleRollout(_ name: String, _ request: Request, promote: Bool) async throws -> Response {
        guard let r = router.rollout(name) else { throw APIError.modelNotFound(name, reason: "no rollout is set for it") }
        let data = try await collect(request.body)
        var chosen = promote ? r.members.max()! : r.members.min()!
        if !data.isEmpty, let v = try RequestFields(data).int("version", in: 1...Int.max) {
            guard r.members.contains(v) else { throw APIError.invalid("version", "version \(v) is not part of the rollout of '\(name)'") }
            chosen = v
        }
        let settled = r.settled(on: chosen)
        try router.setRollout(name, settled)
        return Self.json(["model": name].merging(Self.rolloutObject(settled)) { a, _ in a })
    }
}
