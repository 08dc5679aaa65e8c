import Foundation
import GraftLoad
import Hummingbird
import NIOCore
import Synchronization

/// An OpenAI-style server whose capacity is known: `slots` requests run at once (the rest wait
/// in a first-come queue), each takes `prefill` seconds and then streams `tokens` tokens `gap`
/// seconds apart. It reports its queue wait in `usage.timings` and, in `/metrics` under graft's
/// names, what a scenario says about the engine: how busy it is and how full its KV cache is.
final class StubServer: Sendable {
    enum Scenario: Sendable {
        /// The engine is fully busy whenever a request runs: more load only queues.
        case computeBound
        /// An admission limit holds requests back while the engine idles (busy a quarter).
        case queueBound
        /// The KV cache fills with the running requests and sequences are preempted.
        case memoryBound
    }

    let scenario: Scenario
    let slots: Int
    let prefill = 0.02, gap = 0.01, tokens = 10
    let state = Mutex<(running: Int, waiting: [CheckedContinuation<Void, Never>], busy: Double, lastChange: Double, preemptions: Int)>(
        (0, [], 0, 0, 0))
    let origin = Date()

    init(_ scenario: Scenario, slots: Int = 4) {
        self.scenario = scenario
        self.slots = slots
    }

    var now: Double { Date().timeIntervalSince(origin) }

    /// Busy time accrues while requests run, at the scenario's rate.
    func account(_ s: inout (running: Int, waiting: [CheckedContinuation<Void, Never>], busy: Double, lastChange: Double, preemptions: Int)) {
        let t = now
        if s.running > 0 { s.busy += (t - s.lastChange) * (scenario == .computeBound ? 1 : 0.25) }
        s.lastChange = t
    }

    func acquire() async {
        let admitted: Bool = state.withLock { s in
            account(&s)
            if s.running < slots { s.running += 1; return true }
            return false
        }
        if admitted { return }
        await withCheckedContinuation { c in
            let resumeNow: Bool = state.withLock { s in
                account(&s)
                if s.running < slots { s.running += 1; return true }
                s.waiting.append(c)
                return false
            }
            if resumeNow { c.resume() }
        }
    }

    func release() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { s in
            account(&s)
            if s.waiting.isEmpty { s.running -= 1; return nil }
            if scenario == .memoryBound { s.preemptions += 1 }
            return s.waiting.removeFirst()  // the slot passes to the next in line
        }
        next?.resume()
    }

    func metrics() -> String {
        state.withLock { s in
            account(&s)
            let kvTotal = 100
            let kvUsed = scenario == .memoryBound ? Int(Double(s.running) / Double(slots) * Double(kvTotal)) : s.running * 5
            return """
            graft_num_requests_waiting \(s.waiting.count)
            graft_num_requests_running \(s.running)
            graft_kv_blocks_used \(kvUsed)
            graft_kv_blocks_total \(kvTotal)
            graft_kv_blocks_cached 0
            graft_engine_busy_seconds_total \(s.busy)
            graft_num_preemptions_total \(s.preemptions)

            """
        }
    }

    func chunk(_ object: [String: Any]) -> ByteBuffer {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        var b = ByteBuffer(string: "data: ")
        b.writeBytes(data)
        b.writeString("\n\n")
        return b
    }

    /// Serves on a free loopback port until the returned task is cancelled.
    func start() async throws -> (port: Int, task: Task<Void, Error>) {
        let router = Router()
        router.get("/metrics") { _, _ in self.metrics() }
        router.post("/v1/chat/completions") { _, _ -> Response in
            let arrived = self.now
            await self.acquire()
            let queued = self.now - arrived
            let body = ResponseBody { writer in
                var released = false
                defer { if !released { self.release() } }
                try await Task.sleep(nanoseconds: UInt64(self.prefill * 1e9))
                for _ in 0..<self.tokens {
                    try await writer.write(self.chunk(["choices": [["index": 0, "delta": ["content": "x"]]]]))
                    try await Task.sleep(nanoseconds: UInt64(self.gap * 1e9))
                }
                released = true
                self.release()
                try await writer.write(self.chunk(["choices": [] as [Any], "usage": ["completion_tokens": self.tokens, "prompt_tokens": 5,
                    "timings": ["queue_seconds": queued, "prefill_seconds": self.prefill, "decode_seconds": Double(self.tokens) * self.gap]]]))
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: body)
        }
        let port = Mutex<Int>(0)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port ?? 0 } })
        let task = Task { try await app.runService() }
        for _ in 0..<500 where port.withLock({ $0 }) == 0 { try await Task.sleep(nanoseconds: 10_000_000) }
        return (port.withLock { $0 }, task)
    }
}
