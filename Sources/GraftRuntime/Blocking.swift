import Foundation

/// Runs async work from synchronous code (a command's `run`, a benchmark) and waits for its
/// result on the calling thread.
public func waitFor<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
    let box = BlockingResult<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await work()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// The result slot of `waitFor`: written by the task before it signals, read after the wait.
final class BlockingResult<T>: @unchecked Sendable { var value: T? }
