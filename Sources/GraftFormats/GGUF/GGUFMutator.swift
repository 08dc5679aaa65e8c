import GraftTensor

/// Corrupts GGUF bytes the ways broken and hostile files do: flipped bits, random bytes,
/// lengths and counts replaced by extreme values, truncation. The fuzzer feeds the results to the
/// reader (and the model loader) and requires a clean error or a valid file, never a crash.
public struct GGUFMutator {
    public var generator: RandomGenerator
    /// Mutations land in the first `hotBytes` bytes (the header, where the structure is) with
    /// probability 9/10, anywhere otherwise.
    public var hotBytes: Int

    public init(seed: UInt64, hotBytes: Int) {
        generator = RandomGenerator(seed: seed)
        self.hotBytes = hotBytes
    }

    /// One to four mutations applied to `bytes` in place; returns the length to read (shorter
    /// than the buffer when the file is truncated) and the original bytes to restore afterwards.
    public mutating func mutate(_ bytes: UnsafeMutableRawBufferPointer) -> (length: Int, undo: [(Int, UInt8)]) {
        var undo: [(Int, UInt8)] = []
        var length = bytes.count
        let interesting: [UInt64] = [0, 1, 2, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 1 << 31, 1 << 32,
                                     1 << 40, 1 << 62, UInt64.max, UInt64.max - 1, 64, 65, 4096]
        func position() -> Int {
            let limit = generator.next() % 10 == 0 ? bytes.count : min(hotBytes, bytes.count)
            return Int(generator.next() % UInt64(max(limit, 1)))
        }
        func set(_ i: Int, _ v: UInt8) {
            guard i < bytes.count else { return }
            undo.append((i, bytes[i]))
            bytes[i] = v
        }
        for _ in 0..<(1 + Int(generator.next() % 4)) {
            switch generator.next() % 5 {
            case 0:
                let i = position()
                if i < bytes.count { set(i, bytes[i] ^ UInt8(1 << (generator.next() % 8))) }
            case 1:
                set(position(), UInt8(truncatingIfNeeded: generator.next()))
            case 2, 3:
                let i = position()
                var v = interesting[Int(generator.next() % UInt64(interesting.count))]
                let width = [1, 2, 4, 8][Int(generator.next() % 4)]
                for k in 0..<width { set(i + k, UInt8(truncatingIfNeeded: v)); v >>= 8 }
            default:
                length = min(length, position())
            }
        }
        return (length, undo)
    }
}
