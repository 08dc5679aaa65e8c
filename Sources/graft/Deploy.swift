import ArgumentParser
import Foundation
import GraftDeploy
import GraftLoad
import GraftRuntime

/// `graft deploy haproxy` (the configuration lives in GraftDeploy).
struct Deploy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Put graft replicas behind a load balancer.",
        subcommands: [HAProxy.self])

    struct HAProxy: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "haproxy",
            abstract: "Write an HAProxy configuration that places requests by adapter across replicas.",
            discussion: """
            Requests hash on the adapter their 'model' names (consistent hashing with bounded load), so
            each adapter is served where it is already loaded. Replicas are checked on /ready; a
            request that never reached one is sent to another; 429s pass through. HAProxy's stats are
            at /haproxy/stats and its Prometheus metrics at /haproxy/metrics. The replicas should
            share one registry (GRAFT_HOME on shared storage).
            """)

        @Option(help: "The graft replicas, HOST:PORT,HOST:PORT,…") var replicas: String
        @Option(help: "The port HAProxy listens on.") var port: Int
        @Option(help: "The address HAProxy listens on.") var bind = "0.0.0.0"
        @Option(help: "Seconds between health checks of each replica.") var checkInterval = 1.0
        @Option(help: "A replica takes at most this % of the average load before requests pass to the next (0: off).") var balanceFactor = 150
        @Option(help: "Longest a streamed answer may take, in seconds.") var streamTimeout = 600.0
        @Option(help: "Write the configuration here ('-' for standard output).") var out = "haproxy.cfg"

        func run() throws {
            guard (1...65535).contains(port) else { throw ValidationError("--port: a port from 1 to 65535") }
            guard checkInterval >= 0.1, checkInterval <= 3600 else { throw ValidationError("--check-interval: from 0.1 to 3600 seconds") }
            guard balanceFactor == 0 || (100...10_000).contains(balanceFactor) else {
                throw ValidationError("--balance-factor: 0 (off) or a percentage from 100 to 10000")
            }
            guard streamTimeout >= 1, streamTimeout <= 86_400 else { throw ValidationError("--stream-timeout: from 1 to 86400 seconds") }
            let list: [HAProxyConfig.Replica]
            do { list = try HAProxyConfig.replicas(replicas) } catch { throw ValidationError("--replicas: \(error.description)") }
            let config = HAProxyConfig(replicas: list, bind: bind, port: port, checkInterval: checkInterval, balanceFactor: balanceFactor,
                                       streamTimeout: streamTimeout)
            if out == "-" {
                print(config.text, terminator: "")
                return
            }
            do {
                try Data(config.text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                throw ValidationError("--out: cannot write \(out): \(error.localizedDescription)")
            }
            print("wrote \(out) for \(list.count) replica\(list.count == 1 ? "" : "s"); run: haproxy -f \(out)")
        }
    }
}

/// `graft rollout`: a rolling adapter update across replicas (the work lives in GraftDeploy).
struct RolloutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Roll a new adapter version out across replicas, watching them, and roll back if it serves worse.",
        discussion: """
        REF is NAME@VERSION (or NAME: its newest version). On every replica the version is loaded,
        then traffic moves to it in steps (--canary %, 50%, 100%), each watched for --watch: the new
        version's 5xx rate, mean time to first token and inter-token latency against the old
        version's, from the replicas' /metrics. If it is worse, all traffic goes back to the old
        version and the exit status is 1; otherwise the new version is promoted everywhere.
        """)

    @Argument(help: "The version to roll out: NAME@VERSION, or NAME for its newest.") var reference: String
    @Option(help: "The replicas' base URLs, http://HOST:PORT,…") var replicas: String
    @Option(help: "Percentage of traffic in the first step.") var canary = 10.0
    @Option(help: "How long each step is watched (30s, 2m).") var watch = "30s"
    @Option(help: "Roll back when the new version's 5xx rate is this many points above the old one's.") var maxErrorIncrease = 1.0
    @Option(help: "Roll back when its mean TTFT or inter-token latency is this many times the old one's.") var maxLatencyRatio = 1.5
    @Option(help: "Milliseconds of TTFT difference that are noise, never a reason to roll back (a tenth of it for inter-token latency).") var latencySlackMs = 50.0
    @Option(help: "Requests each version must have served before latency is judged (errors count from the first).") var minRequests = 20
    @Option(help: "The replicas' API key (sent as a bearer token).") var apiKey: String?

    func run() throws {
        let parts = reference.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let name = parts.first ?? ""
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw ValidationError("REF '\(reference)': give NAME@VERSION, e.g. sql@3")
        }
        guard canary > 0, canary <= 100 else { throw ValidationError("--canary: a percentage above 0 and at most 100") }
        guard maxErrorIncrease >= 0, maxErrorIncrease <= 100 else { throw ValidationError("--max-error-increase: from 0 to 100 points") }
        guard maxLatencyRatio >= 1, maxLatencyRatio.isFinite else { throw ValidationError("--max-latency-ratio: at least 1") }
        var urls: [URL] = []
        for part in replicas.split(separator: ",", omittingEmptySubsequences: false) {
            let text = part.trimmingCharacters(in: .whitespaces)
            guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw ValidationError("--replicas: '\(text)' is not an http(s) URL")
            }
            urls.append(url)
        }
        let seconds: Double
        do { seconds = try LoadPlan.seconds(watch, option: "--watch") } catch { throw ValidationError("\(error)") }
        guard (1...1_000_000).contains(minRequests) else { throw ValidationError("--min-requests: from 1 to 1000000") }
        guard latencySlackMs >= 0, latencySlackMs <= 3_600_000 else { throw ValidationError("--latency-slack-ms: from 0 to 3600000") }
        let version: Int
        if parts.count == 2 {
            guard let v = Int(parts[1]), v >= 1 else { throw ValidationError("REF '\(reference)': the version must be a number, e.g. \(name)@3") }
            version = v
        } else {
            // The newest version the first replica lists.
            let (first, key) = (urls[0], apiKey)
            let found = waitFor { () async -> Result<Int?, any Error> in
                do { return .success(try await RollingUpdate.newestVersion(of: name, at: first, apiKey: key)) } catch { return .failure(error) }
            }
            guard let newest = try found.get() else { throw ValidationError("REF '\(reference)': \(first.absoluteString) lists no version of '\(name)'") }
            version = newest
        }
        var update = RollingUpdate(name: name, version: version, replicas: urls, steps: RollingUpdate.steps(canary: canary), watch: seconds, apiKey: apiKey)
        update.maxErrorIncrease = maxErrorIncrease / 100
        update.maxLatencyRatio = maxLatencyRatio
        update.latencySlack = latencySlackMs / 1000
        update.minRequests = Double(minRequests)
        let plan = update
        let report = try waitFor { () async -> Result<RollingUpdate.Report, any Error> in
            do { return .success(try await plan.run { print($0) }) } catch { return .failure(error) }
        }.get()
        if !report.tallies.isEmpty {
            print("replica\told version\told requests\told 5xx\tnew requests\tnew 5xx\tnew mean TTFT")
            for t in report.tallies {
                print("\(t.url.absoluteString)\t\(t.oldVersion.map { "\(name)@\($0)" } ?? "-")\t" + [t.old.requests, t.old.errors, t.new.requests, t.new.errors].map { String(format: "%.0f", $0) }.joined(separator: "\t") + "\t\(t.new.meanTTFT.map { String(format: "%.0f ms", $0 * 1000) } ?? "-")")
            }
        }
        if case .rolledBack = report.outcome { throw ExitCode(1) }
    }
}
