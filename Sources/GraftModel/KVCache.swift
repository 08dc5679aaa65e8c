import GraftTensor

/// Keys and values of the tokens seen so far, per layer, for one sequence: `[capacity, kvHeads,
/// headDim]` each. A forward pass over new tokens appends theirs and attends over all of them.
public final class KVCache {
    public let capacity: Int
    public private(set) var length = 0
    let keys: [Tensor]
    let values: [Tensor]
    /// The keys again, `[kvHeads, headDim, capacity]`, for decode attention (`cachedAttention`).
    let transposedKeys: [Tensor]
    let kvHeads: Int
    let headDim: Int

    public init(config: LlamaConfig, capacity: Int) {
        self.capacity = capacity
        kvHeads = config.kvHeadCount
        headDim = config.headDim
        keys = (0..<config.layerCount).map { _ in Tensor.zeros([capacity, config.kvHeadCount, config.headDim]) }
        values = (0..<config.layerCount).map { _ in Tensor.zeros([capacity, config.kvHeadCount, config.headDim]) }
        transposedKeys = (0..<config.layerCount).map { _ in Tensor.zeros([config.kvHeadCount, config.headDim, capacity]) }
    }

    /// Room left for new tokens.
    public var remaining: Int { capacity - length }

    /// Forgets everything (the buffers are reused).
    public func reset() { length = 0 }

    /// Writes `n` new tokens' k and v (`[1, n, kvHeads, headDim]`) for `layer` after the cached
    /// ones and returns views over all `length + n` of them.
    func append(layer: Int, k: Tensor, v: Tensor) -> (Tensor, Tensor) {
        let n = k.shape[1]
        let row = kvHeads * headDim
        precondition(length + n <= capacity, "KV cache full: \(length) + \(n) > \(capacity)")
        let kc = k.contiguous(), vc = v.contiguous()
        (keys[layer].basePointer + length * row).update(from: kc.basePointer, count: n * row)
        (values[layer].basePointer + length * row).update(from: vc.basePointer, count: n * row)
        let kt = transposedKeys[layer].basePointer
        for t in 0..<n {
            for e in 0..<row { kt[e * capacity + length + t] = kc.basePointer[t * row + e] }
        }
        let total = length + n
        let shape = [1, total, kvHeads, headDim]
        let strides = Shape.contiguousStrides(shape)
        return (Tensor(storage: keys[layer].storage, shape: shape, strides: strides),
                Tensor(storage: values[layer].storage, shape: shape, strides: strides))
    }

    /// Marks `n` appended tokens as part of the cache (after every layer has written them).
    func commit(_ n: Int) { length += n }
}
