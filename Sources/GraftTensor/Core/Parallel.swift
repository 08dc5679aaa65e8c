import Dispatch

/// Splits `count` items into contiguous chunks run on the machine's cores. Small loops run inline:
/// dispatching costs microseconds, which only pays off above `grain` items.
@inline(__always)
public func parallelChunks(_ count: Int, grain: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
    let workers = Parallelism.workers
    if count < grain * 2 || workers < 2 {
        body(0..<count)
        return
    }
    let chunks = min(workers, count / grain)
    let per = (count + chunks - 1) / chunks
    withoutActuallyEscaping(body) { body in
        let task = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * per
            let hi = min(count, lo + per)
            if lo < hi { task.value(lo..<hi) }
        }
    }
}

/// Carries a closure into `concurrentPerform`. The chunks write disjoint ranges, which is what
/// makes sharing the closure's captures safe.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// How many threads the Swift kernels use (BLAS has its own setting, see `BLAS.threads`).
public enum Parallelism {
    nonisolated(unsafe) public static var workers: Int = {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 2
        #endif
    }()
}
#if canImport(Glibc)
import Glibc
#endif
