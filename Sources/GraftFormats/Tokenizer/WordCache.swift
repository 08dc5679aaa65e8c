import Synchronization

/// Token ids of words already encoded, shared by every copy of a tokenizer and safe across threads.
/// Text repeats its words, so most words skip BPE. Bounded: when full it starts over, which keeps
/// memory flat on endless streams of new words at the cost of re-merging a few.
final class WordCache: Sendable {
    private let entries = Mutex<[[UInt8]: [Int32]]>([:])
    private let capacity: Int

    init(capacity: Int = 1 << 16) { self.capacity = capacity }

    func ids(for word: [UInt8]) -> [Int32]? { entries.withLock { $0[word] } }

    func store(_ ids: [Int32], for word: [UInt8]) {
        entries.withLock { cache in
            if cache.count >= capacity { cache.removeAll(keepingCapacity: true) }
            cache[word] = ids
        }
    }
}
