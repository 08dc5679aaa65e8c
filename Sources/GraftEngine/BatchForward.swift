import GraftModel
import GraftQuant
import GraftTensor

/// One row of a step: a token of some sequence at its position, with that sequence's KV blocks
/// and adapters.
struct StepRow {
    let token: Int32
    let position: Int
    let table: [Int32]
    let adapters: [(adapter: ServedAdapter, scale: Float)]
    let needsLogits: Bool
}

/// The model's forward over a batch of rows from many sequences at once: every product of the
/// base runs once for all rows, each row's adapters add their low-rank updates to that row, and
/// attention reads each row's own sequence from the paged KV pool. Every operation works row by
/// row in a fixed order (the few-rows product kernels for every row count, RMSNorm, RoPE,
/// SwiGLU, `PagedAttention`), so a row's logits are the same bits whatever else is in the batch
/// and however its prompt was split into chunks.
final class BatchForward {
    let model: LlamaModel
    let kernels: KernelMode
    let pool: KVBlockPool
    let layers: [[LoRATarget: QuantizedMatrix]]
    let output: QuantizedMatrix

    let invariant: Bool

    init(model: LlamaModel, kernels: KernelMode, pool: KVBlockPool, invariant: Bool = true) throws(EngineError) {
        self.invariant = invariant
        self.model = model
        self.kernels = kernels
        self.pool = pool
        var layers: [[LoRATarget: QuantizedMatrix]] = []
        for block in model.weights.blocks {
            var m: [LoRATarget: QuantizedMatrix] = [:]
            for target in LoRATarget.allCases {
                guard let matrix = (block[target] as? FrozenLinear)?.weight as? QuantizedMatrix else {
                    throw .adapter("model", reason: "the engine serves a plain GGUF base (detach adapters from the model; requests bring theirs)")
                }
                m[target] = matrix
            }
            layers.append(m)
        }
        self.layers = layers
        output = model.weights.output
    }

    /// y[n, rows] = x[n, cols]·Wᵀ with a kernel whose result for a row does not depend on n.
    func product(_ w: QuantizedMatrix, _ x: Tensor, n: Int) -> Tensor {
        let y = Tensor(uninitializedShape: [n, w.rows])
        if !invariant && n > QuantizedMatrix.fewRowsLimit {
            w.multiply(x.basePointer, n: n, into: y.basePointer, kernels: kernels)
        } else if kernels.usesIntegerKernels, w.hasIntegerKernel, let set = IntegerKernels.preferred {
            w.multiplyFewQuantized(x.basePointer, n: n, into: y.basePointer, kernels: set)
        } else {
            w.multiplyFew(x.basePointer, n: n, into: y.basePointer)
        }
        return y
    }

    /// Projections of the same input with each row's adapters added. With the integer kernels
    /// they run as one parallel loop over all their rows (one hand-off to the other core instead
    /// of one per matrix); each row's arithmetic is the same either way.
    func project(_ block: Int, _ targets: [LoRATarget], _ x: Tensor, rows: [StepRow]) -> [Tensor] {
        let matrices = targets.map { layers[block][$0]! }
        let n = rows.count
        var outputs: [Tensor]
        if kernels.usesIntegerKernels && (invariant || n <= QuantizedMatrix.fewRowsLimit) {
            outputs = matrices.map { Tensor(uninitializedShape: [n, $0.rows]) }
            if !QuantizedMatrix.multiplyFewQuantized(matrices, x.basePointer, n: n, into: outputs.map(\.basePointer)) {
                outputs = matrices.map { product($0, x, n: n) }
            }
        } else {
            outputs = matrices.map { product($0, x, n: n) }
        }
        addAdapters(block, targets, x, outputs, rows: rows)
        return outputs
    }

    func project(_ block: Int, _ target: LoRATarget, _ x: Tensor, rows: [StepRow]) -> Tensor {
        project(block, [target], x, rows: rows)[0]
    }

    /// Each row's adapters' low-rank updates, added to its rows of the outputs of `targets`:
    /// slot by slot (a row's first adapter, then its second, …, so each row sums its adapters in
    /// its own order). Within a slot the work is one item per (target, distinct adapter) over all
    /// the rows that use it, so each adapter's matrices are read once a step (the SGMV idea);
    /// the items write disjoint rows and are shared out over the cores one at a time, largest
    /// first, so 16 rows with 16 adapters keep both cores busy. A large group is split by rows.
    /// DoRA adapters (alone in their request) then rescale their rows.
    /// Multiply-adds (rank·(in + out) per row, plus one read of the matrices) below which a
    /// slot's adapter updates run on the driver thread alone.
    static let inlineAdapterWork = 150_000

    func addAdapters(_ block: Int, _ targets: [LoRATarget], _ x: Tensor, _ outputs: [Tensor], rows: [StepRow]) {
        let slots = rows.map(\.adapters.count).max() ?? 0
        typealias Member = (x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, factor: Float)
        for slot in 0..<slots {
            var groups: [ObjectIdentifier: (adapter: ServedAdapter, rows: [Int])] = [:]
            var order: [ObjectIdentifier] = []
            for (i, row) in rows.enumerated() where row.adapters.count > slot && row.adapters[slot].scale != 0 {
                let id = ObjectIdentifier(row.adapters[slot].adapter)
                if groups[id] == nil { order.append(id); groups[id] = (row.adapters[slot].adapter, []) }
                groups[id]!.rows.append(i)
            }
            guard !order.isEmpty else { continue }
            var items: [(target: Int, adapter: ServedAdapter, rows: ArraySlice<Int>, cost: Int)] = []
            for (t, target) in targets.enumerated() {
                let w = layers[block][target]!
                for id in order {
                    let (adapter, members) = groups[id]!
                    let weights = adapter.rank * (w.rows + w.cols)
                    // Rows beyond the first few are split off when the group alone is most of the work.
                    let parts = members.count >= 4 && order.count * targets.count < 2 * Parallelism.workers ? Parallelism.workers : 1
                    let per = (members.count + parts - 1) / parts
                    for lo in stride(from: 0, to: members.count, by: per) {
                        let part = members[lo..<min(members.count, lo + per)]
                        items.append((t, adapter, part, weights * (1 + part.count)))
                    }
                }
            }
            items.sort { $0.cost > $1.cost }
            // A few microseconds of work (one row, a small rank) is not worth a hand-off.
            let total = items.reduce(0) { $0 + $1.cost }
            let inline = total < Self.inlineAdapterWork
            func each(_ body: (Int) -> Void) {
                if inline { for k in items.indices { body(k) } } else { parallelItems(items.count, body) }
            }
            each { k in
                let item = items[k]
                let (target, y) = (targets[item.target], outputs[item.target])
                let w = layers[block][target]!
                let members: [Member] = item.rows.map { i in
                    (UnsafePointer(x.basePointer + i * w.cols), y.basePointer + i * w.rows, rows[i].adapters[slot].scale * item.adapter.scaling)
                }
                item.adapter.add(block: block, target: target, rows: members, inputs: w.cols, outputs: w.rows)
                guard item.adapter.isDoRA else { return }
                for member in members {
                    guard let ratio = item.adapter.doraRatio(block: block, target: target, factor: member.factor, base: w) else { continue }
                    for o in 0..<w.rows { member.y[o] *= ratio[o] }
                }
            }
        }
    }

    /// Logits `[m, vocab]` of the rows that ask for them, in row order.
    func run(_ rows: [StepRow]) -> Tensor {
        let c = model.config
        let n = rows.count
        let (hq, hkv, hd, d) = (c.headCount, c.kvHeadCount, c.headDim, c.hiddenSize)
        var x = Tensor(uninitializedShape: [n, d])
        for (i, row) in rows.enumerated() {
            model.weights.embedding.dequantize(rows: Int(row.token)..<(Int(row.token) + 1), into: x.basePointer + i * d)
        }
        let positions = rows.map { Int32($0.position) }
        let maxVisible = (rows.map(\.position).max() ?? 0) + 1
        for (i, w) in model.weights.blocks.enumerated() {
            let a = rmsNorm(x, weight: w.attentionNorm, eps: c.rmsNormEps)
            let qkv = project(i, [.qProj, .kProj, .vProj], a, rows: rows)
            let q = rope(qkv[0].reshaped([1, n, hq, hd]), positions: positions, base: c.ropeTheta, layout: c.ropeLayout).contiguous()
            let k = rope(qkv[1].reshaped([1, n, hkv, hd]), positions: positions, base: c.ropeTheta, layout: c.ropeLayout).contiguous()
            let v = qkv[2]
            for (r, row) in rows.enumerated() {
                pool.write(layer: i, table: row.table, position: row.position, k: k.basePointer + r * hkv * hd, v: v.basePointer + r * hkv * hd)
            }
            let attention = Tensor(uninitializedShape: [n, hq * hd])
            let (pq, po) = (q.basePointer, attention.basePointer)
            let pool = self.pool
            parallelChunks(n * hq, grain: 1) { range in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: KVBlockPool.blocks(for: maxVisible) * KVBlockPool.blockSize)
                defer { scores.deallocate() }
                for item in range {
                    let (r, h) = (item / hq, item % hq)
                    PagedAttention.attend(q: pq + r * hq * hd, pool: pool, layer: i, table: rows[r].table,
                                          visible: rows[r].position + 1, heads: hq, scores: scores, head: h, into: po + r * hq * hd)
                }
            }
            let h = x + project(i, .oProj, attention, rows: rows)
            let f = rmsNorm(h, weight: w.mlpNorm, eps: c.rmsNormEps)
            let gateUp = project(i, [.gateProj, .upProj], f, rows: rows)
            let gated = swiglu(gateUp[0], gateUp[1]).contiguous()
            x = h + project(i, .downProj, gated, rows: rows)
        }
        let wanted = rows.indices.filter { rows[$0].needsLogits }
        let last = Tensor(uninitializedShape: [wanted.count, d])
        for (j, r) in wanted.enumerated() { (last.basePointer + j * d).update(from: x.basePointer + r * d, count: d) }
        let normed = rmsNorm(last, weight: model.weights.outputNorm, eps: c.rmsNormEps)
        return product(output, normed, n: wanted.count)
    }
}
