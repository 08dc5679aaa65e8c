import Foundation

/// A Prometheus text scrape as series → value, and the few figures a load test reads from it,
/// under graft's names or llama.cpp's (`llama-server --metrics`).
public struct MetricsText: Sendable {
    public var series: [String: Double] = [:]

    public init(_ text: String) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            series[String(line[..<space])] = value
        }
    }

    /// The sum of every series of `name` (all label sets).
    public func sum(_ name: String) -> Double? {
        var total = 0.0, found = false
        for (key, value) in series where key == name || key.hasPrefix(name + "{") {
            total += value
            found = true
        }
        return found ? total : nil
    }

    public func first(_ names: [String]) -> Double? { names.lazy.compactMap { sum($0) }.first }

    public var waiting: Double? { first(["graft_num_requests_waiting", "llamacpp:requests_deferred", "vllm:num_requests_waiting"]) }
    public var running: Double? { first(["graft_num_requests_running", "llamacpp:requests_processing", "vllm:num_requests_running"]) }
    /// KV cache in use, 0…1.
    public var kvUsage: Double? {
        if let used = sum("graft_kv_blocks_used"), let total = sum("graft_kv_blocks_total"), total > 0 {
            return (used - (sum("graft_kv_blocks_cached") ?? 0)) / total
        }
        return first(["llamacpp:kv_cache_usage_ratio", "vllm:gpu_cache_usage_perc", "vllm:kv_cache_usage_perc"])
    }
    public var busySeconds: Double? { sum("graft_engine_busy_seconds_total") }
    public var preemptions: Double? { first(["graft_num_preemptions_total", "vllm:num_preemptions_total"]) }
}

/// The server's state sampled during a level.
public struct GaugeSample: Sendable {
    public var time: Double
    public var waiting: Double?
    public var running: Double?
    public var kvUsage: Double?
}
