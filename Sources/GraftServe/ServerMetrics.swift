import Foundation
import GraftEngine
import Prometheus
import Synchronization

/// What `GET /metrics` exports, in Prometheus' text format, with vLLM's metric names under a
/// `graft_` prefix: per-request histograms (time to first token, every gap between tokens,
/// end-to-end latency, queue wait, prefill) and counts by status, model and version; and, read
/// from the engine's lock-free counters at scrape time, gauges of the queue, the running batch,
/// KV blocks, and the engine's busy fraction since the previous scrape.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let engine: Engine
    private let router: ModelRouter
    private let shed: Counter
    private let lastScrape = Mutex<(time: UInt64, busy: Int)>((DispatchTime.now().uptimeNanoseconds, 0))
    /// The engine's and the cache's totals as last exported, so the counters rise by the difference.
    private let mirrored = Mutex<[String: Int]>([:])

    /// Seconds: 1 ms … 60 s.
    static let latencyBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5,
                                           0.75, 1, 1.5, 2, 2.5, 5, 7.5, 10, 20, 40, 60]

    public init(engine: Engine, router: ModelRouter) {
        self.engine = engine
        self.router = router
        shed = registry.makeCounter(descriptor: Self.name("requests_shed", "total", "Requests refused with 429 because the queue was full"))
    }

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "graft", metricName: metric, unitName: unit, helpText: help)
    }

    private func histogram(_ metric: String, _ help: String, model: String, version: String) -> ValueHistogram {
        registry.makeValueHistogram(descriptor: Self.name(metric, "seconds", help), labels: [("model", model), ("version", version)],
                                    buckets: Self.latencyBuckets)
    }

    /// One finished request: its status, the model and version that served it, and its timings.
    public func record(status: Int, model: String, version: String, usage: EngineUsage?, endToEnd: Double, firstToken: Double?) {
        registry.makeCounter(descriptor: Self.name("requests", "total", "Requests by HTTP status, model and version"),
                             labels: [("status", String(status)), ("model", model), ("version", version)]).increment()
        guard let usage else { return }
        histogram("e2e_request_latency", "Time from the request's arrival to its last byte", model: model, version: version).record(endToEnd)
        histogram("request_queue_time", "Time waiting for admission to the running batch", model: model, version: version).record(usage.queueSeconds)
        histogram("request_prefill_time", "Time from admission to the first generated token", model: model, version: version).record(usage.prefillSeconds)
        if let firstToken {
            histogram("time_to_first_token", "Time from the request's arrival to its first token", model: model, version: version).record(firstToken)
        }
        let gaps = histogram("inter_token_latency", "Every gap between two generated tokens of a request", model: model, version: version)
        for gap in usage.interTokenSeconds { gaps.record(gap) }
        registry.makeCounter(descriptor: Self.name("prompt_tokens", "total", "Prompt tokens of finished requests"),
                             labels: [("model", model), ("version", version)]).increment(by: Int64(usage.promptTokens))
        registry.makeCounter(descriptor: Self.name("generation_tokens", "total", "Generated tokens of finished requests"),
                             labels: [("model", model), ("version", version)]).increment(by: Int64(usage.completionTokens))
    }

    public func recordShed() { shed.increment() }

    /// The text of a scrape: the engine's and the adapter cache's state as of now.
    public func scrape() -> String {
        let m = engine.metrics
        func gauge(_ metric: String, _ help: String, _ value: Double) {
            registry.makeGauge(descriptor: Self.name(metric, "", help)).set(value)
        }
        gauge("num_requests_waiting", "Requests queued for admission", Double(m.queueDepth.load(ordering: .relaxed)))
        gauge("num_requests_running", "Sequences in the running batch", Double(m.running.load(ordering: .relaxed)))
        gauge("kv_blocks_used", "KV cache blocks in use (16 tokens each)", Double(m.kvBlocksUsed.load(ordering: .relaxed)))
        gauge("kv_blocks_total", "KV cache blocks in the pool", Double(m.kvBlocksTotal.load(ordering: .relaxed)))
        gauge("kv_blocks_cached", "KV cache blocks kept by the prefix cache", Double(m.kvBlocksCached.load(ordering: .relaxed)))
        let busy = m.busyNanoseconds.load(ordering: .relaxed)
        let now = DispatchTime.now().uptimeNanoseconds
        let fraction = lastScrape.withLock { last -> Double in
            let elapsed = Double(now - last.time)
            let value = elapsed > 0 ? Double(busy - last.busy) / elapsed : 0
            last = (now, busy)
            return min(1, max(0, value))
        }
        gauge("engine_busy_ratio", "Share of the time since the previous scrape the engine spent in steps", fraction)
        func rise(_ metric: String, _ value: Int) -> Int {
            mirrored.withLock { last in
                let delta = value - (last[metric] ?? 0)
                last[metric] = value
                return max(0, delta)
            }
        }
        func counter(_ metric: String, _ help: String, _ value: Int) {
            let delta = rise(metric, value)
            let c = registry.makeCounter(descriptor: Self.name(metric, "total", help))
            if delta > 0 { c.increment(by: Int64(delta)) }
        }
        let busyDelta = rise("engine_busy_seconds", busy)
        let busyCounter = registry.makeCounter(descriptor: Self.name("engine_busy_seconds", "total", "Seconds the engine spent in steps"))
        if busyDelta > 0 { busyCounter.increment(by: Double(busyDelta) / 1e9) }
        counter("num_preemptions", "Sequences preempted (recomputed) when the KV pool ran out", m.preemptions.load(ordering: .relaxed))
        counter("engine_prompt_tokens", "Prompt tokens the engine prefilled", m.promptTokens.load(ordering: .relaxed))
        counter("engine_generation_tokens", "Tokens the engine generated", m.generatedTokens.load(ordering: .relaxed))
        counter("prefix_cache_hit_tokens", "Prompt tokens served from the prefix cache", m.prefixCachedTokens.load(ordering: .relaxed))
        counter("engine_cancelled", "Requests cancelled (client gone, stop string, drain)", m.cancelled.load(ordering: .relaxed))
        let stats = router.cache.stats
        counter("adapter_loads", "Adapter versions loaded into memory", stats.loads)
        counter("adapter_evictions", "Adapter versions evicted (least recently used)", stats.evictions)
        counter("adapter_unloads", "Adapter versions unloaded by request", stats.unloads)
        counter("adapter_swaps", "Times an adapter name started serving a newer version", router.swaps)
        gauge("adapters_loaded", "Adapter versions in memory", Double(stats.entries))
        gauge("adapter_memory_bytes", "Bytes of adapter weights in memory", Double(stats.bytes))
        return registry.emitToString()
    }
}
