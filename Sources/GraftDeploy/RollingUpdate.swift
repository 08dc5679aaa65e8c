import AsyncHTTPClient
import Foundation

/// A new adapter version rolled out across replicas, watched, and rolled back on its own when it
/// serves worse than the version it replaces.
///
/// The flow, on every replica the same:
/// 1. Find the version served now: the heaviest of the replica's rollout for the name, or with
///    none, the newest version before the new one (a bare name serves the newest, so the new
///    version may already serve there once published: the first step moves it back to its share).
/// 2. Load the new version and hold it in memory (`POST /v1/adapters`), so no request waits for it.
/// 3. For each step (the canary percentage, then 50, then 100), set the rollout weights
///    (`PUT /v1/adapters/NAME/rollout`) and watch `/metrics` for `watch` seconds: the new
///    version's 5xx rate and mean time to first token and inter-token latency, against the old
///    version's since the rollout began, on each replica and summed over them.
/// 4. If the new version is worse, roll back everywhere (all traffic to the old version) and stop;
///    otherwise promote it everywhere (the rollout stays, settled at 100%) and release the old one.
///
/// Users stay on their version within a step (the server's sticky placement), and no step
/// refuses or drops a request: weights change between requests.
public struct RollingUpdate: Sendable {
    public var name: String
    public var version: Int
    public var replicas: [URL]
    /// Percentages of traffic on the new version, increasing, ending at 100.
    public var steps: [Double]
    public var watch: Double
    public var apiKey: String?
    /// Worse means: a 5xx rate this much above the old version's (0.01 = one point) ...
    public var maxErrorIncrease = 0.01
    /// ... or a mean TTFT or inter-token latency this many times the old version's, beyond a
    /// slack (`latencySlack` seconds for TTFT, a tenth of it for inter-token latency) that
    /// keeps noise on a quiet server from counting.
    public var maxLatencyRatio = 1.5
    public var latencySlack = 0.05
    /// Requests each version must have served before latency is judged: a new version meets
    /// every prompt with a cold prefix cache, and its first few answers are slower for that alone.
    public var minRequests = 20.0
    /// Seconds between scrapes while watching.
    public var interval = 1.0

    public init(name: String, version: Int, replicas: [URL], steps: [Double], watch: Double, apiKey: String?) {
        self.name = name
        self.version = version
        self.replicas = replicas
        self.steps = steps
        self.watch = watch
        self.apiKey = apiKey
    }

    /// Steps from a canary percentage: the canary, 50 when above it, then 100.
    public static func steps(canary: Double) -> [Double] {
        ([canary] + [50, 100].filter { $0 > canary }).filter { $0 > 0 }
    }

    public enum Verdict: Sendable, Equatable {
        case healthy
        case worse(String)
    }

    /// The new version against the old, from figures summed over replicas.
    public func judge(old: VersionFigures, new: VersionFigures) -> Verdict {
        if new.errors > 0 && new.errorRate > old.errorRate + maxErrorIncrease {
            return .worse(String(format: "its 5xx rate is %.1f%% (%.0f of %.0f requests) against %.1f%% for the old version",
                                 new.errorRate * 100, new.errors, new.requests, old.errorRate * 100))
        }
        guard new.requests >= minRequests, old.requests >= minRequests else { return .healthy }
        if let n = new.meanTTFT, let o = old.meanTTFT, n > o * maxLatencyRatio + latencySlack {
            return .worse(String(format: "its mean time to first token is %.0f ms against %.0f ms for the old version (over %.1f×)",
                                 n * 1000, o * 1000, maxLatencyRatio))
        }
        if let n = new.meanITL, let o = old.meanITL, n > o * maxLatencyRatio + latencySlack / 10 {
            return .worse(String(format: "its mean inter-token latency is %.1f ms against %.1f ms for the old version (over %.1f×)",
                                 n * 1000, o * 1000, maxLatencyRatio))
        }
        return .healthy
    }

    public enum Outcome: Sendable, Equatable {
        case promoted
        case rolledBack(reason: String)
        case alreadyServing
    }

    /// What each replica served during the rollout, old and new version.
    public struct ReplicaTally: Sendable {
        public var url: URL
        public var oldVersion: Int?
        public var old: VersionFigures
        public var new: VersionFigures
    }

    public struct Report: Sendable {
        public var outcome: Outcome
        public var tallies: [ReplicaTally]
    }

    /// Runs the update; `log` gets a line per action. Throws when a replica refuses a change
    /// (after rolling back those already changed).
    public func run(log: @escaping @Sendable (String) -> Void) async throws -> Report {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let report = try await run(replicas.map { ReplicaClient(url: $0, http: http, apiKey: apiKey) }, log: log)
            try await http.shutdown()
            return report
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    private func run(_ clients: [ReplicaClient], log: @escaping @Sendable (String) -> Void) async throws -> Report {
        let target = "\(name)@\(version)"

        // 1. The version each replica serves now.
        var olds: [Int?] = []
        for c in clients {
            let versions = try await c.versions(of: name)
            guard versions.contains(version) else {
                throw ReplicaClient.Failure(description: "\(c.url.absoluteString) does not know \(target) (it lists versions \(versions.map(String.init).joined(separator: ", ")) of '\(name)'); is its registry the shared one?")
            }
            let old: Int?
            if let weights = try await c.rollout(of: name), let heaviest = weights.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key < $1.key) }) {
                old = heaviest.key
            } else {
                old = versions.filter { $0 < version }.max()
            }
            olds.append(old)
            log("\(c.url.absoluteString): serves \(old.map { "\(name)@\($0)" } ?? "no earlier version") now")
        }
        if olds.allSatisfy({ $0 == nil || $0 == version }) {
            for c in clients { try await c.expectOK(.PUT, "/v1/adapters/\(name)/rollout", json: ["versions": [String(version): 100]]) }
            log("every replica serves \(target): its rollout is set to 100% of \(target)")
            return Report(outcome: .alreadyServing, tallies: [])
        }

        // 2. Load and hold the new version everywhere.
        for c in clients {
            try await c.expectOK(.POST, "/v1/adapters", json: ["model": target])
            log("\(c.url.absoluteString): loaded \(target)")
        }

        let start = try await scrape(clients)
        func tallies(_ now: [ReplicaMetrics?]) -> [ReplicaTally] {
            zip(clients.indices, now).map { i, m in
                let before = start[i], old = olds[i]
                let newFig = m.map { $0.version(name, version) - (before?.version(name, version) ?? VersionFigures()) } ?? VersionFigures()
                let oldFig = old.flatMap { o in m.map { $0.version(name, o) - (before?.version(name, o) ?? VersionFigures()) } } ?? VersionFigures()
                return ReplicaTally(url: clients[i].url, oldVersion: old, old: oldFig, new: newFig)
            }
        }
        var changed: [Int] = []
        do {
            for step in steps {
                // 3. Move the step's share, then watch.
                for (i, c) in clients.enumerated() {
                    guard let old = olds[i], old != version else {
                        try await c.expectOK(.PUT, "/v1/adapters/\(name)/rollout", json: ["versions": [String(version): 100]])
                        continue
                    }
                    try await c.expectOK(.PUT, "/v1/adapters/\(name)/rollout", json: ["versions": [String(old): 100 - step, String(version): step]])
                    if !changed.contains(i) { changed.append(i) }
                }
                log(String(format: "step: %g%% of '%@' on %@", step, name, target))
                let began = Date()
                while Date().timeIntervalSince(began) < watch {
                    try await Task.sleep(nanoseconds: UInt64(min(interval, max(0.05, watch - Date().timeIntervalSince(began))) * 1e9))
                    let now = try await scrape(clients)
                    let t = tallies(now)
                    if let why = worse(t) {
                        // 4. Back to the old version everywhere.
                        try await rollBack(clients, olds, changed, log: log)
                        log("rolled back: \(target) \(why)")
                        return Report(outcome: .rolledBack(reason: "\(target) \(why)"), tallies: t)
                    }
                }
                let t = tallies(try await scrape(clients))
                let (old, new) = t.reduce((VersionFigures(), VersionFigures())) { ($0.0 + $1.old, $0.1 + $1.new) }
                log(String(format: "  watched %gs: new %.0f requests, %.0f errors, mean TTFT %@; old %.0f requests, %.0f errors, mean TTFT %@",
                           watch, new.requests, new.errors, Self.ms(new.meanTTFT), old.requests, old.errors, Self.ms(old.meanTTFT)))
            }
        } catch {
            try? await rollBack(clients, olds, changed, log: log)
            throw error
        }
        for (i, c) in clients.enumerated() {
            try await c.expectOK(.POST, "/v1/adapters/\(name)/rollout/promote", json: ["version": version])
            if let old = olds[i], old != version {
                _ = try? await c.call(.DELETE, "/v1/adapters/\(name)@\(old)")   // released if it was held
            }
        }
        log("promoted \(target) on \(clients.count) replica\(clients.count == 1 ? "" : "s")")
        return Report(outcome: .promoted, tallies: tallies(try await scrape(clients)))
    }

    /// The newest version of `name` a replica lists.
    public static func newestVersion(of name: String, at url: URL, apiKey: String?) async throws -> Int? {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let newest = try await ReplicaClient(url: url, http: http, apiKey: apiKey).versions(of: name).max()
            try await http.shutdown()
            return newest
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// Why the new version is worse on some replica or on all of them together, or nil.
    func worse(_ tallies: [ReplicaTally]) -> String? {
        for t in tallies {
            if case .worse(let why) = judge(old: t.old, new: t.new) { return "\(why) on \(t.url.absoluteString)" }
        }
        let (old, new) = tallies.reduce((VersionFigures(), VersionFigures())) { ($0.0 + $1.old, $0.1 + $1.new) }
        if case .worse(let why) = judge(old: old, new: new) { return "\(why) over all replicas" }
        return nil
    }

    static func ms(_ seconds: Double?) -> String { seconds.map { String(format: "%.0f ms", $0 * 1000) } ?? "-" }

    /// Scrapes every replica; nil for one that does not answer (it may be down: HAProxy routes
    /// around it, and the rollout goes on with the others).
    private func scrape(_ clients: [ReplicaClient]) async throws -> [ReplicaMetrics?] {
        var out: [ReplicaMetrics?] = []
        for c in clients { out.append(try? await c.metrics()) }
        guard out.contains(where: { $0 != nil }) else { throw ReplicaClient.Failure(description: "no replica answers /metrics") }
        return out
    }

    private func rollBack(_ clients: [ReplicaClient], _ olds: [Int?], _ changed: [Int], log: @Sendable (String) -> Void) async throws {
        var failures: [String] = []
        for i in changed {
            guard let old = olds[i] else { continue }
            do {
                try await clients[i].expectOK(.POST, "/v1/adapters/\(name)/rollout/rollback", json: ["version": old])
                log("\(clients[i].url.absoluteString): all of '\(name)' on \(name)@\(old) again")
            } catch { failures.append("\(error)") }
        }
        if !failures.isEmpty { throw ReplicaClient.Failure(description: "rolling back failed: " + failures.joined(separator: "; ")) }
    }
}
