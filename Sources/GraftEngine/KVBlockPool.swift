import GraftModel

/// The KV cache of every running sequence, in fixed-size blocks from one pool sized by a memory
/// budget (vLLM's paged attention, for a CPU): a sequence holds a table of blocks, takes a new
/// one every `blockSize` tokens and gives them all back when it ends or is cancelled.
///
/// Per layer and block, keys are stored transposed, `[kvHeads, headDim, blockSize]` (the layout
/// `cachedAttention` reads, so 16 keys' scores accumulate in one register), and values
/// `[blockSize, kvHeads, headDim]`. Only the engine's thread touches the storage; the counts are
/// read by monitoring through the engine's snapshot.
final class KVBlockPool {
    static let blockSize = 16
    let layers: Int
    let kvHeads: Int
    let headDim: Int
    let blockCount: Int
    /// Floats of one block of one layer, for keys (and again for values).
    let blockFloats: Int
    private let keys: UnsafeMutablePointer<Float>
    private let values: UnsafeMutablePointer<Float>
    private var free: [Int32]
    /// Holders of each block: sequences using it and the prefix cache.
    private var refs: [Int32]

    /// Bytes of KV per token (keys and values of every layer, Float32).
    static func bytesPerToken(_ config: LlamaConfig) -> Int { config.layerCount * 2 * config.kvHeadCount * config.headDim * 4 }

    init(config: LlamaConfig, budgetBytes: Int) {
        layers = config.layerCount
        kvHeads = config.kvHeadCount
        headDim = config.headDim
        blockFloats = kvHeads * headDim * Self.blockSize
        blockCount = max(1, budgetBytes / (Self.bytesPerToken(config) * Self.blockSize))
        let total = layers * blockCount * blockFloats
        keys = .allocate(capacity: total)
        values = .allocate(capacity: total)
        keys.initialize(repeating: 0, count: total)
        values.initialize(repeating: 0, count: total)
        free = (0..<Int32(blockCount)).reversed().map { $0 }
        refs = [Int32](repeating: 0, count: blockCount)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    var freeCount: Int { free.count }
    var usedCount: Int { blockCount - free.count }

    /// Blocks needed to hold `tokens` tokens.
    static func blocks(for tokens: Int) -> Int { (tokens + blockSize - 1) / blockSize }

    /// `n` blocks, or nil (taking none) when fewer are free.
    func take(_ n: Int) -> [Int32]? {
        guard n <= free.count else { return nil }
        let taken = Array(free.suffix(n))
        free.removeLast(n)
        for b in taken { refs[Int(b)] = 1 }
        return taken
    }

    /// One more holder for each block (a sequence reusing cached blocks, the cache keeping them).
    func retain(_ blocks: [Int32]) { for b in blocks { refs[Int(b)] += 1 } }

    /// One holder fewer for each block; a block nobody holds is free again.
    func give(_ blocks: [Int32]) {
        for b in blocks {
            refs[Int(b)] -= 1
            if refs[Int(b)] == 0 { free.append(b) }
        }
    }

    func holders(_ block: Int32) -> Int { Int(refs[Int(block)]) }

    func keyBlock(layer: Int, _ block: Int32) -> UnsafeMutablePointer<Float> {
        keys + (layer * blockCount + Int(block)) * blockFloats
    }

    func valueBlock(layer: Int, _ block: Int32) -> UnsafeMutablePointer<Float> {
        values + (layer * blockCount + Int(block)) * blockFloats
    }

    /// Copies block `source`'s keys and values, every layer, into block `target` (a prompt's
    /// partly shared block, which the new sequence then goes on writing).
    func copy(_ source: Int32, to target: Int32) {
        for layer in 0..<layers {
            keyBlock(layer: layer, target).update(from: keyBlock(layer: layer, source), count: blockFloats)
            valueBlock(layer: layer, target).update(from: valueBlock(layer: layer, source), count: blockFloats)
        }
    }

    /// Stores one token's k and v (`[kvHeads, headDim]` each) at `position` of a sequence.
    func write(layer: Int, table: [Int32], position: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>) {
        let block = table[position / Self.blockSize], slot = position % Self.blockSize
        let kt = keyBlock(layer: layer, block)
        for e in 0..<(kvHeads * headDim) { kt[e * Self.blockSize + slot] = k[e] }
        (valueBlock(layer: layer, block) + slot * kvHeads * headDim).update(from: v, count: kvHeads * headDim)
    }
}
