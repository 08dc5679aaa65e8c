import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Splits `count` items into contiguous chunks run on the machine's cores. Small loops run inline:
/// handing work to another core costs microseconds, which only pays off above `grain` items.
@inline(__always)
public func parallelChunks(_ count: Int, grain: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
    let workers = Parallelism.workers
    if count < grain * 2 || workers < 2 {
        body(0..<count)
        return
    }
    // A few chunks per worker, claimed dynamically, so a late-starting worker does not leave
    // the others waiting at the end of the loop.
    let chunks = min(workers * 4, count / grain)
    let per = (count + chunks - 1) / chunks
    WorkerPool.shared.run(chunks) { c in
        let lo = c * per
        let hi = min(count, lo + per)
        if lo < hi { body(lo..<hi) }
    }
}

/// `body(i)` for every i in 0..<count, each item claimed by whichever core is free next: for a
/// few items of unequal cost (one per adapter in a batch, say), where fixed ranges would leave
/// one core waiting on the other.
public func parallelItems(_ count: Int, _ body: (Int) -> Void) {
    if count < 2 || Parallelism.workers < 2 {
        for i in 0..<count { body(i) }
        return
    }
    WorkerPool.shared.run(count, body)
}

/// How many threads the Swift kernels use (BLAS products too: `BLAS.sgemm` splits them over the pool).
public enum Parallelism {
    nonisolated(unsafe) public static var workers: Int = {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 2
        #endif
    }()
}

/// Helper threads that wait for work by spinning for a short while before they sleep.
///
/// Decoding one token runs a few hundred parallel loops of tens of microseconds each; waking a
/// sleeping thread for every one of them (as `DispatchQueue.concurrentPerform` does) cost about as
/// much as the loops themselves. Between loops the helpers spin on an atomic generation counter,
/// as OpenMP runtimes do, and block on a semaphore after a short while without work.
///
/// Protocol: the caller publishes a loop (body, chunk count), bumps `generation`, runs chunks
/// itself, then waits until every chunk claimed is done. Chunks are claimed from one atomic word
/// holding the next chunk and the count, so a claim always takes an unclaimed chunk of the loop
/// that is current at that moment, and the body read after a claim is that loop's (the caller
/// cannot end it while the claimed chunk is unfinished). The caller never waits for a helper
/// that has claimed nothing: a helper the system has not scheduled (two cores shared with a
/// server's network threads) leaves its chunks to the caller instead of stalling the loop. One
/// loop runs at a time; a caller that finds the pool busy (another thread's loop) runs inline.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(helpers: Parallelism.workers - 1)

    /// How long a helper polls for the next loop before it sleeps: long enough to bridge the
    /// serial work between the loops of one decode step (norms, attention bookkeeping, sampling)
    /// and the pauses of a training step. 10–20 µs left the helpers asleep for most loops of a
    /// decode step on AMD Zen 5 (a fifth of the time went to waking them; 100 µs gave decoding
    /// +15%), and waking a sleeping helper was measured at over a millisecond on these virtual
    /// machines: a 1.3 ms product that followed a pause ran on one core. OpenBLAS runs no threads
    /// of its own (`BLAS.sgemm`), so the polling takes no core from it.
    static let spinNanoseconds: UInt64 = 2_000_000
    /// Polls between reads of the clock.
    static let spinsPerClockRead = 256
    private let helpers: Int
    private let generation = Atomic<Int>(0)
    /// The next chunk to claim (high 32 bits) and the loop's chunk count (low 32 bits).
    private let claims = Atomic<Int>(0)
    private let unfinished = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
    private let wake = DispatchSemaphore(value: 0)
    /// The current loop; written before `generation` is bumped, read after it is seen.
    private nonisolated(unsafe) var job: ((Int) -> Void)?

    init(helpers: Int) {
        self.helpers = max(0, helpers)
        for _ in 0..<self.helpers {
            let thread = Thread { [unowned self] in self.helperLoop() }
            thread.start()
        }
    }

    func run(_ chunks: Int, _ body: (Int) -> Void) {
        guard helpers > 0, busy.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            for c in 0..<chunks { body(c) }
            return
        }
        guard chunks < 1 << 31 else {
            for c in 0..<chunks { body(c) }
            busy.store(false, ordering: .sequentiallyConsistent)
            return
        }
        withoutActuallyEscaping(body) { body in
            job = body
            unfinished.store(chunks, ordering: .sequentiallyConsistent)
            claims.store(chunks, ordering: .sequentiallyConsistent)
            generation.add(1, ordering: .sequentiallyConsistent)
            let sleeping = sleepers.exchange(0, ordering: .sequentiallyConsistent)
            for _ in 0..<sleeping { wake.signal() }
            work()
            while unfinished.load(ordering: .sequentiallyConsistent) > 0 { continue }
            job = nil
        }
        busy.store(false, ordering: .sequentiallyConsistent)
    }

    /// Claims and runs chunks of the current loop until none are left.
    private func work() {
        var word = claims.load(ordering: .sequentiallyConsistent)
        while true {
            let next = word >> 32, count = word & 0xFFFF_FFFF
            guard next < count else { return }
            let (exchanged, original) = claims.compareExchange(expected: word, desired: word + (1 << 32), ordering: .sequentiallyConsistent)
            guard exchanged else {
                word = original
                continue
            }
            job!(next)
            unfinished.subtract(1, ordering: .sequentiallyConsistent)
            word = claims.load(ordering: .sequentiallyConsistent)
        }
    }

    /// Takes back one sleeper registration the caller has not claimed yet; false when the
    /// caller already took it (and signals for it).
    private func withdrawSleeper() -> Bool {
        var current = sleepers.load(ordering: .sequentiallyConsistent)
        while current > 0 {
            let (exchanged, original) = sleepers.compareExchange(expected: current, desired: current - 1,
                                                                 ordering: .sequentiallyConsistent)
            if exchanged { return true }
            current = original
        }
        return false
    }

    private func helperLoop() {
        // Generation 0 is the pool's state at creation: a loop published before this thread
        // got to run is still seen as new.
        var seen = 0
        while true {
            var spins = 0
            var deadline: UInt64 = 0
            while generation.load(ordering: .sequentiallyConsistent) == seen {
                spins += 1
                if spins % Self.spinsPerClockRead != 0 { continue }
                let now = DispatchTime.now().uptimeNanoseconds
                if deadline == 0 { deadline = now + Self.spinNanoseconds }
                if now < deadline { continue }
                sleepers.add(1, ordering: .sequentiallyConsistent)
                if generation.load(ordering: .sequentiallyConsistent) == seen {
                    wake.wait()
                } else if !withdrawSleeper() {
                    // A loop was published after we registered and the caller counted us: its
                    // signal is ours to take, or it would wake a later sleep at once (and the
                    // semaphore's count would grow until helpers never sleep).
                    wake.wait()
                }
                spins = 0
                deadline = 0
            }
            seen = generation.load(ordering: .sequentiallyConsistent)
            work()
        }
    }
}
