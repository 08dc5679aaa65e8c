import Foundation
import Testing
@testable import GraftDeploy

/// The HAProxy configuration's text and its checks on the replica list.
@Suite struct HAProxyConfigTests {
    @Test func replicasAreParsedAndBadOnesNamed() throws {
        #expect(try HAProxyConfig.replicas("127.0.0.1:8001, host-b:8002,[::1]:8003")
                == [.init(host: "127.0.0.1", port: 8001), .init(host: "host-b", port: 8002), .init(host: "[::1]", port: 8003)])
        for (text, fragment) in [("", "replica ''"), ("a:1,,b:2", "replica ''"), ("a", "'a'"), ("a:0", "'a:0'"), ("a:70000", "'a:70000'"),
                                 (":80", "':80'"), ("a b:80", "characters"), ("a:1,a:1", "twice")] {
            #expect {
                try HAProxyConfig.replicas(text)
            } throws: { error in
                (error as? HAProxyConfig.ParseError)?.description.contains(fragment) == true
            }
        }
    }

    @Test func configurationPlacesByAdapterChecksReadyAndRetriesOnlyUnsentRequests() throws {
        let config = HAProxyConfig(replicas: try HAProxyConfig.replicas("10.0.0.1:8000,10.0.0.2:8000,10.0.0.3:9000"), port: 8080,
                                   checkInterval: 0.5, balanceFactor: 125)
        let text = config.text
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for expected in ["balance hash req.body,json_query('$.model'),field(1,@:)", "hash-type consistent", "hash-balance-factor 125",
                         "option httpchk GET /ready", "http-check expect status 200", "retry-on conn-failure empty-response",
                         "option redispatch 1", "option http-buffer-request", "stats uri /haproxy/stats", "bind 0.0.0.0:8080",
                         "server replica1 10.0.0.1:8000", "server replica2 10.0.0.2:8000", "server replica3 10.0.0.3:9000"] {
            #expect(lines.contains(expected), "missing: \(expected)")
        }
        #expect(lines.contains { $0.hasPrefix("default-server check inter 500ms") })
        // 429 is never retried: it is not among the retry conditions.
        let retryOn = lines.filter { $0.hasPrefix("retry-on") }
        #expect(retryOn == ["retry-on conn-failure empty-response"])
    }
}

/// The rollout's judgement of a new version against the old one.
@Suite struct RollingUpdateTests {
    let update = RollingUpdate(name: "sql", version: 2, replicas: [], steps: [10, 50, 100], watch: 1, apiKey: nil)

    @Test func stepsFollowTheCanary() {
        #expect(RollingUpdate.steps(canary: 10) == [10, 50, 100])
        #expect(RollingUpdate.steps(canary: 60) == [60, 100])
        #expect(RollingUpdate.steps(canary: 100) == [100])
    }

    @Test func errorsAndSlowerAnswersRollBackNoiseDoesNot() {
        let old = VersionFigures(requests: 100, errors: 0, ttftSum: 100 * 0.02, ttftCount: 100, itlSum: 1000 * 0.005, itlCount: 1000)
        #expect(update.judge(old: old, new: VersionFigures(requests: 20, ttftSum: 20 * 0.025, ttftCount: 20, itlSum: 200 * 0.006, itlCount: 200)) == .healthy)
        // A cold start (five slow answers) is not judged yet.
        #expect(update.judge(old: old, new: VersionFigures(requests: 5, ttftSum: 5 * 0.08, ttftCount: 5)) == .healthy)
        // One 5xx in 20 is 5 points over the old version's 0%.
        guard case .worse(let why) = update.judge(old: old, new: VersionFigures(requests: 20, errors: 1)) else { Issue.record("not rolled back"); return }
        #expect(why.contains("5xx rate is 5.0%"))
        // Latency is judged only with enough requests on both sides.
        let slow = VersionFigures(requests: 20, ttftSum: 20 * 0.2, ttftCount: 20, itlSum: 200 * 0.005, itlCount: 200)
        guard case .worse(let ttft) = update.judge(old: old, new: slow) else { Issue.record("slow TTFT kept"); return }
        #expect(ttft.contains("time to first token is 200 ms against 20 ms"))
        #expect(update.judge(old: old, new: VersionFigures(requests: 3, ttftSum: 3, ttftCount: 3)) == .healthy)
        let slowTokens = VersionFigures(requests: 20, ttftSum: 20 * 0.02, ttftCount: 20, itlSum: 200 * 0.02, itlCount: 200)
        guard case .worse(let itl) = update.judge(old: old, new: slowTokens) else { Issue.record("slow tokens kept"); return }
        #expect(itl.contains("inter-token latency is 20.0 ms"))
    }

    @Test func aReplicaWorseOnItsOwnRollsBack() {
        let good = RollingUpdate.ReplicaTally(url: URL(string: "http://a:1")!, oldVersion: 1, old: VersionFigures(requests: 100),
                                              new: VersionFigures(requests: 100))
        let bad = RollingUpdate.ReplicaTally(url: URL(string: "http://b:2")!, oldVersion: 1, old: VersionFigures(requests: 100),
                                             new: VersionFigures(requests: 10, errors: 2))
        #expect(update.worse([good]) == nil)
        #expect(update.worse([good, bad])?.hasSuffix("on http://b:2") == true)
    }

    @Test func metricsAreReadByModelAndVersion() {
        let text = """
        # TYPE graft_requests_total counter
        graft_requests_total{status="200",model="sql",version="1"} 90
        graft_requests_total{status="500",model="sql",version="2"} 1
        graft_requests_total{status="200",model="sql",version="2"} 9
        graft_requests_total{status="429",model="sql",version="2"} 5
        graft_requests_total{status="200",model="sql+alt",version="2+1"} 4
        graft_time_to_first_token_seconds_sum{model="sql",version="2"} 0.5
        graft_time_to_first_token_seconds_count{model="sql",version="2"} 10
        graft_inter_token_latency_seconds_sum{version="2",model="sql"} 0.25
        graft_inter_token_latency_seconds_count{version="2",model="sql"} 50
        """
        let m = ReplicaMetrics(text)
        let v2 = m.version("sql", 2)
        #expect(v2.requests == 15 && v2.errors == 1 && v2.meanTTFT == 0.05 && v2.meanITL == 0.005)
        #expect(m.version("sql", 1).requests == 90 && m.version("sql", 1).errors == 0)
        #expect((v2 - m.version("sql", 1)).requests == -75)
    }
}
