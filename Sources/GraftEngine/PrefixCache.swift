/// KV blocks of prompts already computed, kept for later requests that start the same way with
/// the same adapters at the same scales: a shared system prompt is prefilled once per adapter
/// version, and a prompt sent again is prefilled only in its last token (llama.cpp's prompt cache,
/// at token granularity, on vLLM's blocks).
///
/// Each stored block is filed under where it starts: the adapters' content hashes and scales and
/// every token before it, compared exactly, so a new adapter version (another content hash) never
/// reuses an old version's keys and values. A block holds the prompt tokens it was stored with
/// (all 16, or fewer for a prompt's last block). Full blocks that match are shared read only; the
/// first block that matches only in part is copied, and the new sequence writes its own tokens
/// after the shared ones in the copy. The first `tokens.count` slots of a stored block are never
/// written again, even while its sequence goes on writing its later slots. Driver thread only.
final class PrefixCache {
    /// Where a block starts: the adapters and every token before it.
    struct Start: Hashable {
        let adapters: String
        let tokens: ArraySlice<Int32>
    }

    struct Stored {
        let block: Int32
        /// The prompt tokens the block holds, from its first slot.
        let tokens: [Int32]
        var lastUse: Int
    }

    /// What a lookup found: blocks to share, and a block whose first `tokens` slots can be copied.
    /// Every block named here is retained for the caller, who gives them back.
    struct Hit {
        var shared: [Int32] = []
        var partial: (block: Int32, tokens: Int)?
        /// Tokens whose keys and values need no computing.
        var tokens: Int { shared.count * KVBlockPool.blockSize + (partial?.tokens ?? 0) }
        var retained: [Int32] { shared + (partial.map { [$0.block] } ?? []) }
    }

    private var entries: [Start: [Stored]] = [:]
    private var clock = 0
    let pool: KVBlockPool

    init(pool: KVBlockPool) { self.pool = pool }

    /// Stored blocks.
    private(set) var count = 0

    static func signature(_ adapters: [(adapter: ServedAdapter, scale: Float)]) -> String {
        adapters.filter { $0.scale != 0 }.map { "\($0.adapter.contentHash)×\($0.scale.bitPattern)" }.joined(separator: "+")
    }

    /// The stored blocks that begin `prompt`, covering at most its first `limit` tokens.
    func lookup(_ prompt: [Int32], adapters: String, limit: Int) -> Hit {
        let size = KVBlockPool.blockSize
        var hit = Hit()
        clock += 1
        while true {
            let start = hit.shared.count * size
            let key = Start(adapters: adapters, tokens: prompt[0..<start])
            guard start < limit, let stored = entries[key] else { break }
            let rest = prompt[start..<min(limit, start + size)]
            var best = (index: -1, tokens: 0)
            for (i, s) in stored.enumerated() {
                let common = zip(s.tokens, rest).prefix { $0 == $1 }.count
                if common > best.tokens { best = (i, common) }
            }
            guard best.index >= 0 else { break }
            entries[key]![best.index].lastUse = clock
            let block = stored[best.index].block
            if best.tokens == size {
                hit.shared.append(block)
            } else {
                hit.partial = (block, best.tokens)
                break
            }
        }
        pool.retain(hit.retained)
        return hit
    }

    /// Keeps the prompt blocks of a prefilled sequence, the last one even if `prompt` fills it
    /// only in part. A stored block whose tokens begin another one's gives way to the longer.
    func insert(_ prompt: [Int32], adapters: String, table: [Int32]) {
        let size = KVBlockPool.blockSize
        clock += 1
        for i in 0..<KVBlockPool.blocks(for: prompt.count) {
            let key = Start(adapters: adapters, tokens: prompt[0..<(i * size)])
            let tokens = Array(prompt[(i * size)..<min(prompt.count, (i + 1) * size)])
            var stored = entries[key] ?? []
            if let same = stored.firstIndex(where: { $0.tokens.starts(with: tokens) }) {
                stored[same].lastUse = clock
            } else {
                let shorter = stored.filter { tokens.starts(with: $0.tokens) }
                pool.give(shorter.map(\.block))
                count -= shorter.count
                stored.removeAll { tokens.starts(with: $0.tokens) }
                stored.append(Stored(block: table[i], tokens: tokens, lastUse: clock))
                pool.retain([table[i]])
                count += 1
            }
            entries[key] = stored
        }
    }

    /// Drops least recently used blocks that only the cache holds until `needed` blocks are free
    /// or nothing more can go; returns whether enough are free.
    func evict(toFree needed: Int) -> Bool {
        while pool.freeCount < needed {
            var victim: (key: Start, index: Int, lastUse: Int)?
            for (key, stored) in entries {
                for (i, s) in stored.enumerated() where pool.holders(s.block) == 1 && s.lastUse < (victim?.lastUse ?? .max) {
                    victim = (key, i, s.lastUse)
                }
            }
            guard let victim else { return false }
            let block = entries[victim.key]!.remove(at: victim.index).block
            if entries[victim.key]!.isEmpty { entries[victim.key] = nil }
            count -= 1
            pool.give([block])
        }
        return true
    }
}
