import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The owner of one block of Float memory, 64-byte aligned for SIMD. Several tensors (views) may
/// share one storage; the memory goes back to `BufferPool` when the last of them is gone.
/// New storage is uninitialised: every op writes all of its output.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int) {
        self.count = count
        self.pointer = BufferPool.shared.take(count: count)
    }

    deinit { BufferPool.shared.give(pointer, count: count) }
}

/// A cache of freed buffers by size class (four classes per power of two, so at most a quarter
/// is unused). Training repeats similar shapes every step, so after the first step almost every
/// allocation is a reuse: no page faults on fresh mmap'd memory, which would otherwise cost a
/// large matmul's output about a tenth of its time. Classes let batches whose scored-token count
/// varies reuse each other's buffers instead of filling the cache with one size each.
public final class BufferPool: Sendable {
    public static let shared = BufferPool(limitBytes: 1 << 30)

    /// Buffers below this size come from malloc directly: it is fast for them already.
    static let minimumPooledCount = 16 * 1024
    private let limitBytes: Int
    private struct State {
        var free: [Int: [UInt]] = [:]  // addresses, by element count
        var cachedBytes = 0
    }
    private let state = Mutex(State())

    init(limitBytes: Int) { self.limitBytes = limitBytes }

    /// The element count actually allocated for a request of `count`.
    static func sizeClass(_ count: Int) -> Int {
        let n = max(count, 1)
        guard n >= minimumPooledCount else { return n }
        let top = Int.bitWidth - 1 - n.leadingZeroBitCount    // 2^top ≤ n
        let step = 1 << max(top - 2, 0)
        return (n + step - 1) / step * step
    }

    func take(count: Int) -> UnsafeMutablePointer<Float> {
        let n = Self.sizeClass(count)
        if n >= Self.minimumPooledCount {
            let reused: UInt? = state.withLock { s in
                guard var list = s.free[n], let p = list.popLast() else { return nil }
                s.free[n] = list
                s.cachedBytes -= n * 4
                return p
            }
            if let p = reused { return UnsafeMutablePointer(bitPattern: p)! }
        }
        var raw: UnsafeMutableRawPointer?
        let status = posix_memalign(&raw, 64, n * MemoryLayout<Float>.stride)
        guard status == 0, let raw else { preconditionFailure("out of memory allocating \(n) floats") }
        return raw.bindMemory(to: Float.self, capacity: n)
    }

    func give(_ pointer: UnsafeMutablePointer<Float>, count: Int) {
        let n = Self.sizeClass(count)
        if n >= Self.minimumPooledCount {
            let address = UInt(bitPattern: pointer)
            let kept: Bool = state.withLock { s in
                guard s.cachedBytes + n * 4 <= limitBytes else { return false }
                s.free[n, default: []].append(address)
                s.cachedBytes += n * 4
                return true
            }
            if kept { return }
        }
        free(pointer)
    }

    /// Returns every cached buffer to the system.
    public func drain() {
        let all = state.withLock { s -> [UInt] in
            let list = s.free.values.flatMap { $0 }
            s.free = [:]
            s.cachedBytes = 0
            return list
        }
        for p in all { free(UnsafeMutableRawPointer(bitPattern: p)) }
    }

    /// Bytes held in the cache, not in use by any tensor.
    public var cachedBytes: Int { state.withLock { $0.cachedBytes } }
}
