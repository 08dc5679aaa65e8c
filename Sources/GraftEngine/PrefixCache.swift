/// Full KV blocks of prompts already computed, kept for later requests that start the same way
/// with the same adapters at the same scales: a shared system prompt is prefilled once per
/// adapter version. The key holds the adapters' content hashes and scales and the whole token
/// prefix up to the block's end, compared exactly, so a new adapter version (another content
/// hash) never reuses an old version's keys and values. Reused blocks are read only: a sequence
/// writes its own tokens into blocks of its own after them. Driver thread only.
final class PrefixCache {
    struct Key: Hashable {
        let adapters: String
        let tokens: ArraySlice<Int32>
    }

    private var entries: [Key: (block: Int32, lastUse: Int)] = [:]
    private var clock = 0
    let pool: KVBlockPool

    init(pool: KVBlockPool) { self.pool = pool }

    var count: Int { entries.count }

    static func signature(_ adapters: [(adapter: ServedAdapter, scale: Float)]) -> String {
        adapters.filter { $0.scale != 0 }.map { "\($0.adapter.contentHash)×\($0.scale.bitPattern)" }.joined(separator: "+")
    }

    /// The cached blocks that begin `prompt` (at most `limit`), retained for the caller.
    func lookup(_ prompt: [Int32], adapters: String, limit: Int) -> [Int32] {
        var blocks: [Int32] = []
        clock += 1
        while blocks.count < limit {
            let end = (blocks.count + 1) * KVBlockPool.blockSize
            guard end <= prompt.count, let hit = entries[Key(adapters: adapters, tokens: prompt[0..<end])] else { break }
            entries[Key(adapters: adapters, tokens: prompt[0..<end])]!.lastUse = clock
            blocks.append(hit.block)
        }
        pool.retain(blocks)
        return blocks
    }

    /// Keeps the full prompt blocks of a prefilled sequence.
    func insert(_ prompt: [Int32], adapters: String, table: [Int32]) {
        clock += 1
        for i in 0..<(prompt.count / KVBlockPool.blockSize) {
            let key = Key(adapters: adapters, tokens: prompt[0..<((i + 1) * KVBlockPool.blockSize)])
            guard entries[key] == nil else { continue }
            entries[key] = (table[i], clock)
            pool.retain([table[i]])
        }
    }

    /// Drops least recently used entries that only the cache holds until `needed` blocks are
    /// free or nothing more can go; returns whether enough are free.
    func evict(toFree needed: Int) -> Bool {
        while pool.freeCount < needed {
            guard let victim = entries.filter({ pool.holders($0.value.block) == 1 }).min(by: { $0.value.lastUse < $1.value.lastUse }) else {
                return false
            }
            entries[victim.key] = nil
            pool.give([victim.value.block])
        }
        return true
    }
}
