/// A replica's `/metrics` scrape read by model and version: what a rollout compares between the
/// version it moves traffic from and the one it moves traffic to.
public struct ReplicaMetrics: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    public var series: [Series] = []

    /// Parses Prometheus text: `name{a="x",b="y"} value` lines (comments skipped).
    public init(_ text: String) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let key = line[..<space]
            guard let brace = key.firstIndex(of: "{") else {
                series.append(Series(name: String(key), labels: [:], value: value))
                continue
            }
            var labels: [String: String] = [:]
            var rest = key[key.index(after: brace)...].dropLast()   // without the closing brace
            while let eq = rest.firstIndex(of: "=") {
                let label = String(rest[..<eq]).trimmingCharacters(in: .init(charactersIn: ", "))
                var i = rest.index(after: eq)
                guard i < rest.endIndex, rest[i] == "\"" else { break }
                i = rest.index(after: i)
                var text = ""
                while i < rest.endIndex, rest[i] != "\"" {
                    if rest[i] == "\\", rest.index(after: i) < rest.endIndex { i = rest.index(after: i) }
                    text.append(rest[i])
                    i = rest.index(after: i)
                }
                labels[label] = text
                rest = i < rest.endIndex ? rest[rest.index(after: i)...] : rest[rest.endIndex...]
            }
            series.append(Series(name: String(key[..<brace]), labels: labels, value: value))
        }
    }

    /// The sum of `name` over the series whose labels include `labels`.
    public func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
        series.filter { s in s.name == name && labels.allSatisfy { s.labels[$0.key] == $0.value } }.reduce(0) { $0 + $1.value }
    }

    /// What one version of an adapter has served so far (counters since the replica started).
    public func version(_ model: String, _ version: Int) -> VersionFigures {
        let labels = ["model": model, "version": String(version)]
        var f = VersionFigures()
        for s in series where s.name == "graft_requests_total" && s.labels["model"] == model && s.labels["version"] == String(version) {
            let status = Int(s.labels["status"] ?? "") ?? 0
            f.requests += s.value
            if status >= 500 { f.errors += s.value }
        }
        f.ttftSum = sum("graft_time_to_first_token_seconds_sum", labels)
        f.ttftCount = sum("graft_time_to_first_token_seconds_count", labels)
        f.itlSum = sum("graft_inter_token_latency_seconds_sum", labels)
        f.itlCount = sum("graft_inter_token_latency_seconds_count", labels)
        return f
    }
}

/// Requests, server errors (5xx) and latency sums of one version; subtract two scrapes for a
/// window. 429s and other 4xx are the load's or the client's doing, not the version's.
public struct VersionFigures: Sendable, Equatable {
    public var requests = 0.0
    public var errors = 0.0
    public var ttftSum = 0.0
    public var ttftCount = 0.0
    public var itlSum = 0.0
    public var itlCount = 0.0

    public init(requests: Double = 0, errors: Double = 0, ttftSum: Double = 0, ttftCount: Double = 0, itlSum: Double = 0, itlCount: Double = 0) {
        (self.requests, self.errors, self.ttftSum, self.ttftCount, self.itlSum, self.itlCount) = (requests, errors, ttftSum, ttftCount, itlSum, itlCount)
    }

    public static func - (a: Self, b: Self) -> Self {
        Self(requests: a.requests - b.requests, errors: a.errors - b.errors, ttftSum: a.ttftSum - b.ttftSum, ttftCount: a.ttftCount - b.ttftCount,
             itlSum: a.itlSum - b.itlSum, itlCount: a.itlCount - b.itlCount)
    }

    public static func + (a: Self, b: Self) -> Self {
        Self(requests: a.requests + b.requests, errors: a.errors + b.errors, ttftSum: a.ttftSum + b.ttftSum, ttftCount: a.ttftCount + b.ttftCount,
             itlSum: a.itlSum + b.itlSum, itlCount: a.itlCount + b.itlCount)
    }

    public var errorRate: Double { requests > 0 ? errors / requests : 0 }
    public var meanTTFT: Double? { ttftCount > 0 ? ttftSum / ttftCount : nil }
    public var meanITL: Double? { itlCount > 0 ? itlSum / itlCount : nil }
}
