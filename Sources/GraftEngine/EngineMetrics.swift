import Synchronization

/// Counters and gauges the engine's driver publishes after every step, read by monitoring
/// without taking a lock (relaxed atomics: a reader may see one step's values mixed with the
/// next's, never a torn number, and never slows the driver down).
public final class EngineMetrics: Sendable {
    /// Requests submitted and not yet admitted.
    public let queueDepth = Atomic<Int>(0)
    /// Sequences in the running batch.
    public let running = Atomic<Int>(0)
    public let kvBlocksUsed = Atomic<Int>(0)
    public let kvBlocksTotal = Atomic<Int>(0)
    /// Blocks the prefix cache holds (reclaimed when admissions need them).
    public let kvBlocksCached = Atomic<Int>(0)
    /// Sequences pushed out of the batch to free KV blocks. The engine reserves a request's
    /// blocks for its whole length at admission (it queues instead of overcommitting), so it
    /// never preempts; the counter is here for the policies that will.
    public let preemptions = Atomic<Int>(0)
    public let steps = Atomic<Int>(0)
    public let promptTokens = Atomic<Int>(0)
    /// Prompt tokens whose keys and values came from the prefix cache instead of a prefill.
    public let prefixCachedTokens = Atomic<Int>(0)
    public let generatedTokens = Atomic<Int>(0)
    public let finished = Atomic<Int>(0)
    public let cancelled = Atomic<Int>(0)
    /// Nanoseconds the driver spent computing steps (busy fraction = its growth over wall time).
    public let busyNanoseconds = Atomic<Int>(0)

    init() {}

    /// A plain copy of every value, for printing and tests.
    public var snapshot: [String: Int] {
        ["queue_depth": queueDepth.load(ordering: .relaxed), "running": running.load(ordering: .relaxed),
         "kv_blocks_used": kvBlocksUsed.load(ordering: .relaxed), "kv_blocks_total": kvBlocksTotal.load(ordering: .relaxed),
         "kv_blocks_cached": kvBlocksCached.load(ordering: .relaxed),
         "preemptions": preemptions.load(ordering: .relaxed), "steps": steps.load(ordering: .relaxed),
         "prompt_tokens": promptTokens.load(ordering: .relaxed),
         "prefix_cached_tokens": prefixCachedTokens.load(ordering: .relaxed), "generated_tokens": generatedTokens.load(ordering: .relaxed),
         "finished": finished.load(ordering: .relaxed), "cancelled": cancelled.load(ordering: .relaxed),
         "busy_ns": busyNanoseconds.load(ordering: .relaxed)]
    }
}
