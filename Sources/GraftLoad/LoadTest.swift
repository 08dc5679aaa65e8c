import Foundation

/// Runs a plan against one server, level after level, and makes its report. Every level is
/// bounded in time (its duration, then a grace period after which its last requests are
/// cancelled) and, for rates, in count, so a load test always ends by itself.
public enum LoadTest {
    /// `name` labels the server in reports; `log` gets the progress line and each level's row.
    public static func run(_ plan: LoadPlan, name: String, sloText: String, log: @escaping @Sendable (String) -> Void) async -> LoadReport {
        let connections = plan.levels.map { level -> Int in
            switch level {
            case .concurrency(let n): n
            case .rate(let r): Int(r * 8) + 8
            }
        }.max() ?? 8
        let client = StreamingClient(base: plan.url, apiKey: plan.apiKey, connections: connections)
        var models = plan.mix.isEmpty ? [("base", 1.0)] : plan.mix
        if models.contains(where: { $0.model == "base" }) {
            let base = await client.firstModel() ?? "base"
            models = models.map { ($0.model == "base" ? base : $0.model, $0.weight) }
        }
        if plan.warmup > 0 {
            var failed = 0
            for i in 0..<plan.warmup {
                let sample = await client.send(model: models[i % models.count].model, prompt: plan.prompts[i % plan.prompts.count],
                                               maxTokens: min(plan.maxTokens, 8), user: nil, seed: i, deadline: plan.grace, clock: { 0 })
                if sample.status != 200 { failed += 1 }
            }
            log("\(name): warm-up: \(plan.warmup) requests one at a time, \(failed) failed, not counted\n")
        }
        let runner = LevelRunner(plan: plan, client: client, models: models)
        var stats: [LevelStats] = []
        for level in plan.levels {
            let run = await runner.run(level) { elapsed, done in
                log(String(format: "\r%@: %@ %5.1f/%.0fs, %d answers   ", name, level.description, elapsed, plan.duration, done))
            }
            let s = LevelStats(run, slo: plan.slo, costPerHour: plan.costPerHour)
            log(String(format: "\r%@: %@ done: %.2f req/s, %.0f tok/s, p95 TTFT %.3fs, p95 latency %.3fs, %d errors, %d × 429\n", name,
                       level.description, s.requestsPerSecond, s.outputTokensPerSecond, s.ttft.p95, s.e2e.p95, s.errors, s.rejected429))
            stats.append(s)
        }
        await client.shutdown()
        return LoadReport(name: name, plan: plan, sloText: sloText, levels: stats)
    }
}
