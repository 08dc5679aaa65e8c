import Foundation

/// Where latency bends against throughput, and why, from the levels' figures.
///
/// **Definition.** Levels are taken in order of offered load. Between level i−1 and level i, let
/// g_L = p95(e2e)_i / p95(e2e)_{i−1} − 1 (the relative growth of p95 end-to-end latency) and
/// g_X = X_i / X_{i−1} − 1 (of output tokens per second). The knee is the first level i where
/// g_L > g_X and g_L > 10%: from there, more load buys less throughput than it costs in latency.
/// (The 10% floor keeps measurement noise on a flat curve from being called a knee.) When no
/// level qualifies, there is no knee within the levels tested.
///
/// **Cause**, at the knee, from the server's own data (its per-request timings and `/metrics`):
/// - memory-bound: the KV cache ran full (≥ 90% used) or sequences were preempted;
/// - compute-bound: the engine was busy ≥ 90% of the level's time;
/// - queue-bound: requests waited for admission (≥ 50% of time to first token) while the engine
///   had time to spare, so an admission limit (the running batch size) held them back;
/// - batch-bound: none of those: each step slows as the batch grows (inter-token latency rises);
/// - client-bound: the load generator used ≥ 90% of a core, so its own figures are suspect;
/// - unknown: the server reports neither timings nor metrics.
public struct KneeAnalysis: Sendable, Codable {
    public enum Cause: String, Sendable, Codable {
        case memoryBound = "memory-bound", computeBound = "compute-bound", queueBound = "queue-bound"
        case batchBound = "batch-bound", clientBound = "client-bound", unknown
    }

    /// Index of the knee level, nil when latency never bent.
    public var index: Int?
    public var cause: Cause?
    public var sentence: String
    /// The highest level where at least 90% of requests met the objectives.
    public var capacityIndex: Int?
    public var capacitySentence: String?

    public init(levels: [LevelStats], plan: LoadPlan, sloText: String) {
        index = nil
        for i in levels.indices.dropFirst() {
            let a = levels[i - 1], b = levels[i]
            guard a.e2e.p95 > 0, a.outputTokensPerSecond > 0 else { continue }
            let gL = b.e2e.p95 / a.e2e.p95 - 1
            let gX = b.outputTokensPerSecond / a.outputTokensPerSecond - 1
            if gL > gX && gL > 0.10 {
                index = i
                break
            }
        }
        capacityIndex = levels.lastIndex { $0.completed > 0 && $0.goodput >= 0.9 * $0.requestsPerSecond }
        guard let k = index else {
            cause = nil
            let last = levels.last
            sentence = "No knee within the levels tested: up to \(last?.level ?? "the last level"), p95 latency grew no faster than throughput."
            capacitySentence = Self.capacity(levels, capacityIndex, plan: plan, sloText: sloText)
            return
        }
        let s = levels[k]
        let cause = Self.cause(s)
        self.cause = cause
        var parts: [String] = []
        let ttftText = String(format: "%.2f s", s.ttft.p95)
        var opening = "At \(s.level), p95 time to first token is \(ttftText)"
        if let t = plan.slo.ttft { opening += s.ttft.p95 > t ? String(format: ", over the %.2g s SLO", t) : String(format: ", within the %.2g s SLO", t) }
        opening += String(format: " and p95 latency %.2f s (%.0f%% more than at %@ for %.0f%% more throughput)", s.e2e.p95,
                          100 * (s.e2e.p95 / levels[k - 1].e2e.p95 - 1), levels[k - 1].level,
                          100 * (s.outputTokensPerSecond / max(levels[k - 1].outputTokensPerSecond, 1e-9) - 1))
        parts.append(opening)
        if let q = s.queueShareOfTTFT { parts.append(String(format: "%.0f%% of time to first token is queue wait", 100 * q)) }
        if let busy = s.engineBusy { parts.append(String(format: "the engine is busy %.0f%% of the time", 100 * busy)) }
        if let kv = s.maxKVUsage { parts.append(String(format: "KV cache at most %.0f%% used", 100 * kv)) }
        if let p = s.preemptions, p > 0 { parts.append(String(format: "%.0f preemptions", p)) }
        if let running = s.meanRunning { parts.append(String(format: "%.1f sequences running on average", running)) }
        var text = parts[0] + ": " + parts.dropFirst().joined(separator: ", ") + " (\(cause.rawValue))."
        if parts.count == 1 { text = parts[0] + " (\(cause.rawValue): the server reports no timings or metrics)." }
        if s.meanCompletionTokens >= 2 {
            let half = Int((s.meanCompletionTokens / 2).rounded())
            text += String(format: " Cutting max_tokens from %d to %d would raise capacity to about %.2f requests/s at the same %.0f tokens/s.",
                           plan.maxTokens, half, s.outputTokensPerSecond / Double(max(half, 1)), s.outputTokensPerSecond)
        }
        sentence = text
        capacitySentence = Self.capacity(levels, capacityIndex, plan: plan, sloText: sloText)
    }

    static func cause(_ s: LevelStats) -> Cause {
        if s.clientCores >= 0.9 { return .clientBound }
        if (s.maxKVUsage ?? 0) >= 0.9 || (s.preemptions ?? 0) > 0 { return .memoryBound }
        if let busy = s.engineBusy, busy >= 0.9 { return .computeBound }
        if let q = s.queueShareOfTTFT, q >= 0.5 { return .queueBound }
        if s.engineBusy == nil && s.queueShareOfTTFT == nil && s.maxKVUsage == nil { return .unknown }
        return .batchBound
    }

    static func capacity(_ levels: [LevelStats], _ index: Int?, plan: LoadPlan, sloText: String) -> String? {
        guard let i = index else { return "No level met the SLO (\(sloText)) for 90% of its requests." }
        let s = levels[i]
        let users = s.isRate ? s.inFlightMean : s.offered
        var text = String(format: "One replica serves %@ within the SLO (%@): %.1f requests/s, %.0f output tokens/s",
                          s.isRate ? String(format: "%.2f requests/s (%.1f in flight)", s.offered, users) : String(format: "%.0f concurrent users", users),
                          sloText, s.requestsPerSecond, s.outputTokensPerSecond)
        if let d = s.dollarsPerMillionTokens { text += String(format: ", $%.2f per million output tokens", d) }
        if users > 0 {
            let replicas = Int((Double(plan.users) / users).rounded(.up))
            text += "; \(replicas) replica\(replicas == 1 ? "" : "s") for \(plan.users) users"
            if let cost = plan.costPerHour { text += String(format: " ($%.2f an hour)", cost * Double(replicas)) }
        }
        return text + "."
    }
}
