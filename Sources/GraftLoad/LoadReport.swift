import Foundation

/// One server's load test: its levels, the knee, and how it was run. `report.json` holds one or
/// several (a comparison), with the ratios between the first and the others at each level.
public struct LoadReport: Sendable, Codable {
    public var name: String
    public var url: String
    public var levels: [LevelStats]
    public var knee: KneeAnalysis
    public var slo: String
    public var maxTokens: Int
    public var duration: Double
    public var costPerHour: Double?

    public init(name: String, plan: LoadPlan, sloText: String, levels: [LevelStats]) {
        self.name = name
        url = plan.url.absoluteString
        self.levels = levels
        knee = KneeAnalysis(levels: levels, plan: plan, sloText: sloText)
        slo = sloText
        maxTokens = plan.maxTokens
        duration = plan.duration
        costPerHour = plan.costPerHour
    }

    /// The terminal table: one row a level.
    public var table: String {
        var rows: [[String]] = [["level", "req/s", "tok/s", "ttft p50", "ttft p95", "ttft p99", "itl p50", "itl p99", "tpot p50",
                                 "e2e p50", "e2e p95", "e2e p99.9", "good/s", "err", "429", "queue", "busy", "kv", "L=λW", "client", "$/Mtok"]]
        func ms(_ v: Double) -> String { v >= 10 ? String(format: "%.1fs", v) : String(format: "%.0fms", v * 1000) }
        func pct(_ v: Double?) -> String { v.map { String(format: "%.0f%%", 100 * $0) } ?? "-" }
        for (i, s) in levels.enumerated() {
            rows.append([s.level + (knee.index == i ? " ◀ knee" : ""), String(format: "%.2f", s.requestsPerSecond), String(format: "%.0f", s.outputTokensPerSecond),
                         ms(s.ttft.p50), ms(s.ttft.p95), ms(s.ttft.p99), ms(s.itl.p50), ms(s.itl.p99), ms(s.tpot.p50),
                         ms(s.e2e.p50), ms(s.e2e.p95), ms(s.e2e.p999), String(format: "%.2f", s.goodput), "\(s.errors)", "\(s.rejected429)",
                         pct(s.queueShareOfTTFT), pct(s.engineBusy), pct(s.maxKVUsage),
                         String(format: "%.1f/%.1f%@", s.inFlightMean, s.littlesLaw, s.littlesLawOK ? "" : " !"),
                         String(format: "%.0f%%", 100 * s.clientShare), s.dollarsPerMillionTokens.map { String(format: "%.2f", $0) } ?? "-"])
        }
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max()! }
        return rows.map { r in r.indices.map { c in r[c].padding(toLength: widths[c], withPad: " ", startingAt: 0) }.joined(separator: "  ") }
            .joined(separator: "\n")
    }

    public var summary: String {
        var lines = ["\(name) (\(url)): \(knee.sentence)"]
        if let c = knee.capacitySentence { lines.append(c) }
        for s in levels where !s.errorKinds.isEmpty {
            lines.append("Errors at \(s.level): " + s.errorKinds.sorted { $0.value > $1.value }.map { "\($0.value) × \($0.key)" }.joined(separator: "; "))
        }
        let untrusted = levels.filter { !$0.littlesLawOK }.map(\.level)
        if !untrusted.isEmpty { lines.append("Little's law does not hold at \(untrusted.joined(separator: ", ")): those figures cannot be trusted.") }
        return lines.joined(separator: "\n")
    }
}

/// Several servers under the same load, the first one compared with each other level by level.
public struct Comparison: Sendable, Codable {
    public var reports: [LoadReport]
    /// Per other server, per level: the first's output tokens/s over its, and p95 TTFT over its.
    public var throughputRatios: [[Double?]]
    public var ttftRatios: [[Double?]]

    public init(_ reports: [LoadReport]) {
        self.reports = reports
        let first = reports[0]
        throughputRatios = reports.dropFirst().map { other in
            first.levels.indices.map { i in
                i < other.levels.count && other.levels[i].outputTokensPerSecond > 0 ? first.levels[i].outputTokensPerSecond / other.levels[i].outputTokensPerSecond : nil
            }
        }
        ttftRatios = reports.dropFirst().map { other in
            first.levels.indices.map { i in
                i < other.levels.count && other.levels[i].ttft.p95 > 0 ? first.levels[i].ttft.p95 / other.levels[i].ttft.p95 : nil
            }
        }
    }

    public var table: String {
        guard reports.count > 1 else { return "" }
        var lines: [String] = []
        for (j, other) in reports.dropFirst().enumerated() {
            lines.append("\(reports[0].name) against \(other.name): throughput ratio and p95 TTFT ratio per level")
            for (i, s) in reports[0].levels.enumerated() {
                let x = throughputRatios[j][i].map { String(format: "%.2f×", $0) } ?? "n/a"
                let t = ttftRatios[j][i].map { String(format: "%.2f×", $0) } ?? "n/a"
                lines.append("  \(s.level): tok/s \(x), p95 TTFT \(t)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
