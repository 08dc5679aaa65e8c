import Foundation
import GraftTensor
import Synchronization

/// What one level of a load test measured: every request, the server's metrics at its start and
/// end and sampled in between, the number of requests in flight sampled on its own clock (for
/// the Little's law check), and the client's own CPU time.
public struct LevelRun: Sendable {
    public var level: LoadPlan.Level
    public var samples: [RequestSample]
    /// Seconds from the level's start to its last answer.
    public var wall: Double
    public var start: MetricsText?
    public var end: MetricsText?
    public var gauges: [GaugeSample]
    /// Requests in flight, sampled every 50 ms.
    public var inFlightMean: Double
    /// Client CPU seconds (user + system) spent during the level.
    public var clientCPUSeconds: Double
    /// Requests the level sent (arrivals for a rate level).
    public var sent: Int
}

/// Runs the levels of a plan one after another against one server.
public struct LevelRunner: Sendable {
    public let plan: LoadPlan
    public let client: StreamingClient
    /// Model ids of the mix, `base` resolved to the server's first model.
    public let models: [(model: String, weight: Double)]

    public init(plan: LoadPlan, client: StreamingClient, models: [(model: String, weight: Double)]) {
        self.plan = plan
        self.client = client
        self.models = models
    }

    final class Collector: @unchecked Sendable {
        let lock = NSLock()
        var samples: [RequestSample] = []
        let inFlight = Atomic<Int>(0)
        let sent = Atomic<Int>(0)
        let stopSampling = Atomic<Bool>(false)
        func add(_ s: RequestSample) { lock.lock(); samples.append(s); lock.unlock() }
        var count: Int { lock.lock(); defer { lock.unlock() }; return samples.count }
    }

    /// The model for request number i: the mix's weights over a fixed pseudo-random sequence.
    func model(_ i: Int) -> String {
        if plan.rotateModels { return models[i % models.count].model }
        let total = models.reduce(0) { $0 + $1.weight }
        var x = Double((UInt64(truncatingIfNeeded: i) &* 0x9E37_79B9_7F4A_7C15 &+ plan.seed) >> 11) / Double(1 << 53) * total
        for m in models {
            if x < m.weight { return m.model }
            x -= m.weight
        }
        return models.last!.model
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// Runs one level; `progress` gets (seconds elapsed, requests done) about once a second.
    public func run(_ level: LoadPlan.Level, progress: @escaping @Sendable (Double, Int) -> Void = { _, _ in }) async -> LevelRun {
        let startMetrics = await client.text("/metrics").map(MetricsText.init)
        let cpu0 = Self.cpuSeconds()
        let origin = DispatchTime.now().uptimeNanoseconds
        let clock: @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds - origin) / 1e9 }
        let collector = Collector()
        let duration = plan.duration, deadline = plan.duration + plan.grace
        // In-flight and gauge sampling on their own clocks.
        let sampler = Task { () -> (Double, [GaugeSample]) in
            var sum = 0.0, n = 0
            var gauges: [GaugeSample] = []
            var nextScrape = 0.0
            while !collector.stopSampling.load(ordering: .relaxed) {
                sum += Double(collector.inFlight.load(ordering: .relaxed))
                n += 1
                let now = clock()
                if now >= nextScrape {
                    nextScrape = now + 0.5
                    if let m = await client.text("/metrics", timeout: 2).map(MetricsText.init) {
                        gauges.append(GaugeSample(time: clock(), waiting: m.waiting, running: m.running, kvUsage: m.kvUsage))
                    }
                    progress(clock(), collector.count)
                }
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
            return (n > 0 ? sum / Double(n) : 0, gauges)
        }
        let plan = self.plan
        @Sendable func one(_ i: Int) async {
            collector.inFlight.add(1, ordering: .relaxed)
            let prompt = plan.prompts[i % plan.prompts.count]
            let sample = await client.send(model: model(i), prompt: prompt, maxTokens: plan.maxTokens, user: "user-\(i % max(1, plan.users))",
                                           seed: i, deadline: deadline, clock: clock)
            collector.inFlight.subtract(1, ordering: .relaxed)
            collector.add(sample)
        }
        switch level {
        case .concurrency(let n):
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<n {
                    group.addTask {
                        while clock() < duration {
                            let i = collector.sent.add(1, ordering: .relaxed).oldValue
                            await one(i)
                        }
                    }
                }
            }
        case .rate(let rate):
            var rng = RandomGenerator(seed: plan.seed &+ UInt64(rate * 1000))
            let limit = Int(rate * duration * 3) + 16
            await withTaskGroup(of: Void.self) { group in
                var next = 0.0
                while next < duration && collector.sent.load(ordering: .relaxed) < limit {
                    let wait = next - clock()
                    if wait > 0 { try? await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
                    let i = collector.sent.add(1, ordering: .relaxed).oldValue
                    group.addTask { await one(i) }
                    next += -log(1 - Double(rng.next() >> 11) / Double(1 << 53)) / rate
                }
            }
            // The next arrival would have come after the level's end: the level still lasts its
            // whole duration, so the rate and the sampled gauges cover the same window.
            let rest = duration - clock()
            if rest > 0 { try? await Task.sleep(nanoseconds: UInt64(rest * 1e9)) }
        }
        let wall = max(clock(), duration)
        collector.stopSampling.store(true, ordering: .relaxed)
        let (inFlightMean, gauges) = await sampler.value
        let endMetrics = await client.text("/metrics").map(MetricsText.init)
        return LevelRun(level: level, samples: collector.samples.sorted { $0.start < $1.start }, wall: wall, start: startMetrics, end: endMetrics,
                        gauges: gauges, inFlightMean: inFlightMean, clientCPUSeconds: Self.cpuSeconds() - cpu0,
                        sent: collector.sent.load(ordering: .relaxed))
    }
}
