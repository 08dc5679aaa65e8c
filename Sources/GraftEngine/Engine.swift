import Foundation
import GraftModel
import GraftQuant
import GraftTensor

/// A request to the engine: prompt tokens, the adapters (each with its scale; several are
/// summed, none is the base), sampling, a token limit and the tokens that end it.
public struct EngineRequest: @unchecked Sendable {
    public var prompt: [Int32]
    public var adapters: [(adapter: ServedAdapter, scale: Float)]
    public var sampling: SamplingParameters
    public var maxTokens: Int
    /// Tokens that end the generation (the model's stop tokens when nil).
    public var stopTokens: Set<Int32>?

    public init(prompt: [Int32], adapters: [(adapter: ServedAdapter, scale: Float)] = [], sampling: SamplingParameters = .greedy,
                maxTokens: Int = 256, stopTokens: Set<Int32>? = nil) {
        self.prompt = prompt
        self.adapters = adapters
        self.sampling = sampling
        self.maxTokens = maxTokens
        self.stopTokens = stopTokens
    }
}

/// Why a generation ended, with OpenAI's names.
public enum FinishReason: String, Sendable {
    case stop, length, cancelled
}

/// Token counts and the engine's own timings of one request.
public struct EngineUsage: Sendable, Equatable {
    public var promptTokens = 0
    public var completionTokens = 0
    /// Seconds from submission to admission (KV blocks reserved).
    public var queueSeconds = 0.0
    /// Seconds from admission to the first generated token.
    public var prefillSeconds = 0.0
    /// Seconds from the first generated token to the last.
    public var decodeSeconds = 0.0
    /// Seconds between consecutive generated tokens (one fewer than the tokens), as the driver
    /// emitted them.
    public var interTokenSeconds: [Double] = []

    public init() {}
}

/// What a request's stream yields: each generated token with the text it completes (empty while
/// a character's bytes are incomplete; empty for a stop token), then the end.
public enum EngineEvent: Sendable, Equatable {
    case token(Int32, text: String)
    case finished(FinishReason, EngineUsage)
}

/// Continuous batching on one driver thread: requests join the running batch at token
/// boundaries when the KV pool has blocks for what they hold so far (otherwise they queue),
/// prompts are prefilled in chunks under a per-step token budget alongside the running
/// sequences' decode rows, and each step runs one `BatchForward` over all rows. Sequences take
/// blocks as they grow; when the pool runs out, the prefix cache gives back blocks first, then
/// the most recently admitted sequence is preempted by recompute: its blocks are freed and it
/// waits at the head of the queue with the tokens it has, to be prefilled again (the rows are
/// batch-invariant, so it continues with exactly the tokens it would have produced; counted in
/// `metrics.preemptions`). Callers are async and never block the driver; a cancelled request's
/// blocks return to the pool at the next step.
public final class Engine: @unchecked Sendable {
    public struct Options: Sendable {
        /// Memory for the KV pool.
        public var kvBudgetBytes = 256 << 20
        /// Tokens per step (decode rows and prompt chunks together).
        public var tokenBudget = 128
        /// Sequences running at once at most.
        public var maxBatch = 64
        public var kernels: KernelMode = .fast
        /// Rows computed so that a request's tokens never depend on the batch or on how its
        /// prompt was chunked (the default). Off, steps of more than a few rows use the tiled
        /// products (faster for long prompt chunks, but a row's bits then depend on the batch);
        /// kept to measure what invariance costs.
        public var batchInvariant = true
        /// Reuse the KV blocks of prompt prefixes already computed with the same adapters.
        public var prefixCache = true
        public init() {}
    }

    public let language: LanguageModel
    public let options: Options
    let pool: KVBlockPool
    let forward: BatchForward
    let prefixes: PrefixCache

    private let condition = NSCondition()
    private var inbox: [Sequence] = []
    private var cancellations: Set<Int> = []
    private var stopping = false
    private var nextID = 0
    private var thread: Thread?
    // Driver-only state.
    private var waiting: [Sequence] = []
    private var running: [Sequence] = []

    /// Where request adapters come from; each ending request releases its pins here.
    public let adapters: AdapterCache?

    public init(language: LanguageModel, options: Options = Options(), adapters: AdapterCache? = nil) throws(EngineError) {
        let block = KVBlockPool.bytesPerToken(language.model.config) * KVBlockPool.blockSize
        guard options.kvBudgetBytes >= block, UInt64(options.kvBudgetBytes) <= ProcessInfo.processInfo.physicalMemory else {
            throw .kvBudget(bytes: options.kvBudgetBytes, block: block, memory: ProcessInfo.processInfo.physicalMemory)
        }
        self.language = language
        self.options = options
        self.adapters = adapters
        pool = KVBlockPool(config: language.model.config, budgetBytes: options.kvBudgetBytes)
        prefixes = PrefixCache(pool: pool)
        forward = try BatchForward(model: language.model, kernels: options.kernels, pool: pool,
                                   invariant: options.batchInvariant)
        metrics.kvBlocksTotal.store(pool.blockCount, ordering: .relaxed)
        let thread = Thread { [weak self] in self?.drive() }
        thread.name = "graft-engine"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    /// What the driver publishes after each step, read without locks.
    public let metrics = EngineMetrics()

    /// KV blocks in the pool, and how many are free (as of the driver's last step).
    public var kvBlocks: (total: Int, free: Int) {
        let total = metrics.kvBlocksTotal.load(ordering: .relaxed)
        return (total, total - metrics.kvBlocksUsed.load(ordering: .relaxed))
    }

    /// Starts a request; its stream yields tokens, then `.finished`. Dropping the stream (or
    /// `cancel`) ends it and frees its KV blocks. The request's adapters, when they came from
    /// `adapters`, are released when it ends, or here when it is refused.
    public func submit(_ request: EngineRequest) throws(EngineError) -> (id: Int, events: AsyncStream<EngineEvent>) {
        do { return try start(request) } catch {
            if let cache = adapters { for (adapter, _) in request.adapters { cache.release(adapter) } }
            throw error
        }
    }

    private func start(_ request: EngineRequest) throws(EngineError) -> (id: Int, events: AsyncStream<EngineEvent>) {
        let c = language.model.config
        guard !request.prompt.isEmpty else { throw .emptyPrompt }
        guard request.maxTokens >= 1 else { throw .maxTokens(request.maxTokens) }
        if let bad = request.prompt.first(where: { $0 < 0 || Int($0) >= c.vocabularySize }) {
            throw .tokenOutOfVocabulary(bad, vocabulary: c.vocabularySize)
        }
        guard request.prompt.count < c.contextLength else { throw .promptTooLong(tokens: request.prompt.count, context: c.contextLength) }
        if request.adapters.filter({ $0.scale != 0 }).count > 1,
           let dora = request.adapters.first(where: { $0.adapter.isDoRA && $0.scale != 0 }) {
            throw .adapter(dora.adapter.label, reason: "a DoRA adapter rescales the whole weight, so it cannot be combined with other adapters in one request")
        }
        let need = min(c.contextLength, request.prompt.count + min(request.maxTokens, c.contextLength))
        guard KVBlockPool.blocks(for: need) <= pool.blockCount else {
            throw .tooLargeForMemory(tokens: need, capacity: pool.blockCount * KVBlockPool.blockSize)
        }
        let (stream, continuation) = AsyncStream<EngineEvent>.makeStream()
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw .stopped }
        nextID += 1
        let id = nextID
        let sequence = Sequence(id: id, request: request, capacity: need, stops: request.stopTokens ?? language.stopTokens,
                                continuation: continuation)
        continuation.onTermination = { [weak self] reason in
            if case .cancelled = reason { self?.cancel(id) }
        }
        inbox.append(sequence)
        metrics.queueDepth.add(1, ordering: .relaxed)
        condition.signal()
        return (id, stream)
    }

    /// Ends a request at the next step; its KV blocks return to the pool.
    public func cancel(_ id: Int) {
        condition.lock()
        cancellations.insert(id)
        condition.signal()
        condition.unlock()
    }

    /// Stops the driver after cancelling everything still running.
    public func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    deinit { stop() }

    // MARK: the driver

    private func drive() {
        while true {
            condition.lock()
            while inbox.isEmpty && cancellations.isEmpty && !stopping && running.isEmpty && waiting.isEmpty {
                condition.wait()
            }
            let arrived = inbox, cancelled = cancellations, stop = stopping
            inbox.removeAll()
            cancellations.removeAll()
            condition.unlock()

            waiting += arrived
            for s in running + waiting where cancelled.contains(s.id) || stop { finish(s, .cancelled) }
            running.removeAll { $0.done }
            waiting.removeAll { $0.done }
            if stop { break }
            admit()
            if !running.isEmpty {
                let began = DispatchTime.now().uptimeNanoseconds
                step()
                metrics.busyNanoseconds.add(Int(DispatchTime.now().uptimeNanoseconds - began), ordering: .relaxed)
                metrics.steps.add(1, ordering: .relaxed)
            }
            publish()
        }
        publish()
    }

    private func publish() {
        metrics.running.store(running.count, ordering: .relaxed)
        metrics.kvBlocksUsed.store(pool.usedCount, ordering: .relaxed)
        metrics.kvBlocksCached.store(prefixes.count, ordering: .relaxed)
    }

    private func admit() {
        while let s = waiting.first, running.count < options.maxBatch {
            let signature = PrefixCache.signature(s.request.adapters)
            // Reuse stops short of the last token, whose logits are needed.
            let hit = options.prefixCache ? prefixes.lookup(s.tokens, adapters: signature, limit: s.tokens.count - 1) : PrefixCache.Hit()
            // Blocks for the tokens it holds and the next one; more as it grows.
            let needed = KVBlockPool.blocks(for: s.tokens.count + 1) - hit.shared.count
            guard prefixes.evict(toFree: needed), let fresh = pool.take(needed) else {
                pool.give(hit.retained)
                break
            }
            if let partial = hit.partial {
                pool.copy(partial.block, to: fresh[0])
                pool.give([partial.block])
            }
            waiting.removeFirst()
            if s.admitted == nil {
                metrics.queueDepth.subtract(1, ordering: .relaxed)
                metrics.promptTokens.add(s.request.prompt.count, ordering: .relaxed)
                s.admitted = Date()
            }
            metrics.prefixCachedTokens.add(hit.tokens, ordering: .relaxed)
            s.table = hit.shared + fresh
            s.cached = hit.tokens
            s.prefilled = false
            s.signature = signature
            running.append(s)
        }
    }

    /// Makes `s`'s block table cover `tokens` tokens, taking blocks from the pool, then from the
    /// prefix cache, then by preempting the most recently admitted other sequences. False when
    /// `s` itself had to give way.
    private func grow(_ s: Sequence, to tokens: Int) -> Bool {
        let needed = KVBlockPool.blocks(for: tokens) - s.table.count
        guard needed > 0 else { return true }
        while !prefixes.evict(toFree: needed) {
            guard let victim = running.last(where: { !$0.done && !$0.preempted }), victim !== s else { return false }
            preempt(victim)
        }
        s.table += pool.take(needed)!
        return true
    }

    private func preempt(_ s: Sequence) {
        pool.give(s.table)
        s.table = []
        s.cached = 0
        s.prefilled = false
        s.preempted = true
        metrics.preemptions.add(1, ordering: .relaxed)
    }

    private func step() {
        // Plan: each sequence's rows this step, with the blocks they need. Decode rows first (one
        // token each), so running streams never wait on a long prompt; then prompt chunks.
        var budget = options.tokenBudget
        for s in running { s.planned = 0 }
        for s in running where s.prefilled && !s.preempted {
            if grow(s, to: s.cached + 1) { s.planned = 1; budget -= 1 } else { preempt(s) }
        }
        for s in running where !s.prefilled && !s.preempted {
            let n = min(s.tokens.count - s.cached, max(budget, running.contains { $0.planned > 0 } ? 0 : 1))
            guard n > 0 else { break }
            if grow(s, to: s.cached + n) { s.planned = n; budget -= n } else { preempt(s) }
        }
        // Preempted sequences wait at the head of the queue, oldest first, to be prefilled again.
        let preempted = running.filter(\.preempted)
        running.removeAll(where: \.preempted)
        for s in preempted { s.preempted = false; s.planned = 0 }
        waiting.insert(contentsOf: preempted.sorted { $0.id < $1.id }, at: 0)

        var rows: [StepRow] = []
        var owners: [Sequence] = []
        for s in running where s.planned > 0 {
            for t in 0..<s.planned {
                let position = s.cached + t
                let last = position == s.tokens.count - 1
                rows.append(StepRow(token: s.tokens[position], position: position, table: s.table, adapters: s.request.adapters, needsLogits: last))
                if last { owners.append(s) }
            }
        }
        for s in running where s.planned > 0 {
            s.cached += s.planned
            if !s.prefilled && s.cached == s.tokens.count {
                s.prefilled = true
                if options.prefixCache && s.generated == 0 { prefixes.insert(s.request.prompt, adapters: s.signature, table: s.table) }
            }
        }
        guard !rows.isEmpty else { return }
        let logits = withNoGrad { forward.run(rows) }
        let vocabulary = language.model.config.vocabularySize
        for (j, s) in owners.enumerated() {
            let next = logits.withUnsafeBufferPointer { all in
                s.sampler.sample(logits: UnsafeBufferPointer(rebasing: all[(j * vocabulary)..<((j + 1) * vocabulary)]), history: s.tokens)
            }
            emit(s, next)
        }
        running.removeAll { $0.done }
    }

    private func emit(_ s: Sequence, _ token: Int32) {
        let now = Date()
        if s.firstToken == nil { s.firstToken = now }
        if let last = s.lastToken { s.gaps.append(now.timeIntervalSince(last)) }
        s.lastToken = now
        s.tokens.append(token)
        s.generated += 1
        metrics.generatedTokens.add(1, ordering: .relaxed)
        var text = ""
        if !s.stops.contains(token) {
            s.pending += language.tokenizer.bytes(of: token)
            let cut = Sequence.completeUTF8Prefix(s.pending)
            text = String(decoding: s.pending[..<cut], as: UTF8.self)
            s.pending.removeFirst(cut)
        }
        s.continuation.yield(.token(token, text: text))
        if s.stops.contains(token) { finish(s, .stop) }
        else if s.generated >= s.request.maxTokens || s.tokens.count >= s.capacity { finish(s, .length) }
    }

    private func finish(_ s: Sequence, _ reason: FinishReason) {
        guard !s.done else { return }
        s.done = true
        if s.admitted == nil { metrics.queueDepth.subtract(1, ordering: .relaxed) }
        if reason == .cancelled { metrics.cancelled.add(1, ordering: .relaxed) } else { metrics.finished.add(1, ordering: .relaxed) }
        pool.give(s.table)
        s.table = []
        let now = Date()
        var usage = EngineUsage()
        usage.promptTokens = s.request.prompt.count
        usage.completionTokens = s.generated
        usage.queueSeconds = (s.admitted ?? now).timeIntervalSince(s.submitted)
        usage.prefillSeconds = (s.firstToken ?? now).timeIntervalSince(s.admitted ?? now)
        usage.decodeSeconds = now.timeIntervalSince(s.firstToken ?? now)
        usage.interTokenSeconds = s.gaps
        // Pins go before the end is announced, so a caller that saw the end sees them released.
        if let cache = adapters { for (adapter, _) in s.request.adapters { cache.release(adapter) } }
        s.continuation.yield(.finished(reason, usage))
        s.continuation.finish()
    }
}

/// A request inside the engine (driver thread only, after submission).
final class Sequence {
    let id: Int
    let request: EngineRequest
    /// Prompt and generated tokens so far.
    var tokens: [Int32]
    /// Tokens whose keys and values are in the pool.
    var cached = 0
    var prefilled = false
    var generated = 0
    let capacity: Int
    let stops: Set<Int32>
    var sampler: Sampler
    var table: [Int32] = []
    /// Rows it has in the step being assembled.
    var planned = 0
    /// Pushed out of the batch this step (its blocks already freed).
    var preempted = false
    /// The adapters and scales, as the prefix cache keys them.
    var signature = ""
    var pending: [UInt8] = []
    var done = false
    let continuation: AsyncStream<EngineEvent>.Continuation
    let submitted = Date()
    var admitted: Date?
    var firstToken: Date?
    var lastToken: Date?
    var gaps: [Double] = []

    init(id: Int, request: EngineRequest, capacity: Int, stops: Set<Int32>, continuation: AsyncStream<EngineEvent>.Continuation) {
        self.id = id
        self.request = request
        tokens = request.prompt
        self.capacity = capacity
        self.stops = stops
        sampler = Sampler(request.sampling)
        self.continuation = continuation
    }

    /// The length of the longest prefix of `bytes` that ends on a character boundary.
    static func completeUTF8Prefix(_ bytes: [UInt8]) -> Int {
        var i = bytes.count - 1
        while i >= 0 && i >= bytes.count - 4 {
            let b = bytes[i]
            if b & 0xC0 != 0x80 {
                let need = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                return bytes.count - i < need ? i : bytes.count
            }
            i -= 1
        }
        return bytes.count
    }
}
