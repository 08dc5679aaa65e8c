import Foundation
import Histogram

/// Percentiles of one quantity, in seconds, from an HdrHistogram of microseconds (three
/// significant digits).
public struct Percentiles: Sendable, Codable, Equatable {
    public var p50 = 0.0, p90 = 0.0, p95 = 0.0, p99 = 0.0, p999 = 0.0, mean = 0.0, max = 0.0
    public var count = 0

    public init() {}

    public init(_ values: [Double]) {
        guard !values.isEmpty else { return }
        var h = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        for v in values { _ = h.record(UInt64(Swift.max(1, Swift.min(3_600_000_000, (v * 1e6).rounded())))) }
        func at(_ p: Double) -> Double { Double(h.valueAtPercentile(p)) / 1e6 }
        (p50, p90, p95, p99, p999) = (at(50), at(90), at(95), at(99), at(99.9))
        mean = values.reduce(0, +) / Double(values.count)
        max = values.max()!
        count = values.count
    }

    enum CodingKeys: String, CodingKey { case p50, p90, p95, p99, p999 = "p99_9", mean, max, count }
}

/// One level's figures: throughput, latency percentiles, errors, goodput, where the time went
/// by the server's own account, the server's state, and the checks on the measurement.
public struct LevelStats: Sendable, Codable {
    public var level: String
    /// Clients (concurrency) or requests per second offered (rate).
    public var offered: Double
    public var isRate: Bool
    public var seconds: Double
    public var sent: Int
    public var completed: Int
    public var errors: Int
    public var rejected429: Int
    /// What went wrong, by message (first 80 characters), for the errors.
    public var errorKinds: [String: Int]
    public var requestsPerSecond: Double
    public var outputTokensPerSecond: Double
    public var meanCompletionTokens: Double
    public var ttft: Percentiles
    public var itl: Percentiles
    public var tpot: Percentiles
    public var e2e: Percentiles
    /// Requests per second that met every objective.
    public var goodput: Double
    /// Mean seconds of the server's queue wait, prefill and decode (when it reports them).
    public var serverQueue: Double?
    public var serverPrefill: Double?
    public var serverDecode: Double?
    /// Share of the mean time to first token spent waiting in the server's queue.
    public var queueShareOfTTFT: Double?
    public var meanWaiting: Double?
    public var meanRunning: Double?
    public var maxKVUsage: Double?
    public var engineBusy: Double?
    public var preemptions: Double?
    /// Requests in flight sampled by the client, and λ·W from the answers; far apart means the
    /// measurement cannot be trusted.
    public var inFlightMean: Double
    public var littlesLaw: Double
    public var littlesLawOK: Bool
    /// The client's CPU use in cores, and as a share of this machine.
    public var clientCores: Double
    public var clientShare: Double
    public var dollarsPerMillionTokens: Double?

    public init(_ run: LevelRun, slo: LoadPlan.SLO, costPerHour: Double?) {
        level = run.level.description
        offered = run.level.value
        if case .rate = run.level { isRate = true } else { isRate = false }
        seconds = run.wall
        sent = run.sent
        let ok = run.samples.filter(\.ok)
        completed = ok.count
        rejected429 = run.samples.filter { $0.status == 429 }.count
        errors = run.samples.count - ok.count - rejected429
        errorKinds = [:]
        for s in run.samples where !s.ok && s.status != 429 { errorKinds[String((s.error ?? "HTTP \(s.status)").prefix(200)), default: 0] += 1 }
        let wall = max(run.wall, 1e-9)
        requestsPerSecond = Double(ok.count) / wall
        let tokens = ok.reduce(0) { $0 + $1.completionTokens }
        outputTokensPerSecond = Double(tokens) / wall
        meanCompletionTokens = ok.isEmpty ? 0 : Double(tokens) / Double(ok.count)
        ttft = Percentiles(ok.compactMap(\.ttft))
        itl = Percentiles(ok.flatMap(\.gaps))
        tpot = Percentiles(ok.compactMap(\.tpot))
        e2e = Percentiles(ok.map(\.latency))
        let good = ok.filter { s in
            if let t = slo.ttft, (s.ttft ?? .infinity) > t { return false }
            if let t = slo.itl, (s.tpot ?? 0) > t { return false }  // the mean gap of the request (TPOT)
            if let t = slo.e2e, s.latency > t { return false }
            return true
        }
        goodput = Double(good.count) / wall
        func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
        serverQueue = mean(ok.compactMap(\.queueSeconds))
        serverPrefill = mean(ok.compactMap(\.prefillSeconds))
        serverDecode = mean(ok.compactMap(\.decodeSeconds))
        if let q = serverQueue, ttft.mean > 0 { queueShareOfTTFT = min(1, q / ttft.mean) }
        meanWaiting = mean(run.gauges.compactMap(\.waiting))
        meanRunning = mean(run.gauges.compactMap(\.running))
        maxKVUsage = run.gauges.compactMap(\.kvUsage).max()
        if let b0 = run.start?.busySeconds, let b1 = run.end?.busySeconds { engineBusy = min(1, max(0, (b1 - b0) / wall)) }
        if let p0 = run.start?.preemptions, let p1 = run.end?.preemptions { preemptions = p1 - p0 }
        inFlightMean = run.inFlightMean
        littlesLaw = run.samples.reduce(0) { $0 + $1.latency } / wall
        let reference = max(inFlightMean, littlesLaw, 1e-9)
        littlesLawOK = abs(inFlightMean - littlesLaw) / reference <= 0.15
        clientCores = run.clientCPUSeconds / wall
        clientShare = clientCores / Double(ProcessInfo.processInfo.activeProcessorCount)
        if let costPerHour, outputTokensPerSecond > 0 { dollarsPerMillionTokens = costPerHour / (outputTokensPerSecond * 3600) * 1e6 }
    }
}
