import Foundation

/// What a load test does: the levels (closed-loop concurrency, or open-loop Poisson arrival
/// rates), how long each runs, what it sends (prompts, models or a weighted mix, max tokens),
/// the service-level objectives goodput is counted against, and the price of the machine.
public struct LoadPlan: Sendable {
    public enum Level: Sendable, Equatable, CustomStringConvertible {
        /// N clients, each sending its next request when its last one ends.
        case concurrency(Int)
        /// Requests per second arriving as a Poisson process, whatever the answers do.
        case rate(Double)

        public var description: String {
            switch self {
            case .concurrency(let n): "concurrency \(n)"
            case .rate(let r): String(format: "rate %g/s", r)
            }
        }

        /// The level's number: clients or requests per second.
        public var value: Double {
            switch self {
            case .concurrency(let n): Double(n)
            case .rate(let r): r
            }
        }
    }

    /// Objectives a request must meet to count towards goodput.
    public struct SLO: Sendable, Equatable {
        public var ttft: Double?
        public var itl: Double?
        public var e2e: Double?
        public init(ttft: Double? = nil, itl: Double? = nil, e2e: Double? = nil) {
            (self.ttft, self.itl, self.e2e) = (ttft, itl, e2e)
        }
    }

    public var url: URL
    public var levels: [Level]
    public var duration: Double
    public var prompts: [PromptSet.Prompt]
    public var maxTokens: Int
    /// Model ids and their weights (the `--model` list has equal weights).
    public var mix: [(model: String, weight: Double)]
    public var slo: SLO
    public var costPerHour: Double?
    public var apiKey: String?
    /// After a level's duration, how long its last requests may take before they are cancelled.
    public var grace: Double
    /// Users the capacity sentence sizes replicas for.
    public var users: Int
    public var seed: UInt64
    /// Requests sent one at a time before the first level, and not counted: the first sight of
    /// each prompt (and a server's first request) is not the steady state a level measures.
    public var warmup: Int
    /// Requests take the models in turn (a `--model` list) instead of drawing them by weight.
    public var rotateModels = false

    public init(url: URL, levels: [Level], duration: Double, prompts: [PromptSet.Prompt], maxTokens: Int,
                mix: [(model: String, weight: Double)], slo: SLO, costPerHour: Double?, apiKey: String?,
                grace: Double = 60, users: Int = 100, seed: UInt64 = 1, warmup: Int = 1) {
        self.url = url
        self.levels = levels
        self.duration = duration
        self.prompts = prompts
        self.maxTokens = maxTokens
        self.mix = mix
        self.slo = slo
        self.costPerHour = costPerHour
        self.apiKey = apiKey
        self.grace = grace
        self.users = users
        self.seed = seed
        self.warmup = warmup
    }

    /// A problem with the plan's text, naming the option's value at fault.
    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// "1,2,4" (positive integers, increasing).
    public static func concurrencies(_ text: String) throws -> [Level] {
        let values = try text.split(separator: ",").map { part -> Int in
            guard let n = Int(part.trimmingCharacters(in: .whitespaces)), (1...4096).contains(n) else {
                throw ParseError(description: "concurrency '\(part)': a whole number from 1 to 4096")
            }
            return n
        }
        guard !values.isEmpty, values == values.sorted(), Set(values).count == values.count else {
            throw ParseError(description: "concurrency '\(text)': give increasing levels, e.g. 1,2,4,8")
        }
        return values.map { .concurrency($0) }
    }

    /// "0.5,1,2" (positive, increasing, requests per second).
    public static func rates(_ text: String) throws -> [Level] {
        let values = try text.split(separator: ",").map { part -> Double in
            guard let r = Double(part.trimmingCharacters(in: .whitespaces)), r > 0, r <= 10_000, r.isFinite else {
                throw ParseError(description: "rate '\(part)': a number of requests per second above 0")
            }
            return r
        }
        guard !values.isEmpty, values == values.sorted(), Set(values).count == values.count else {
            throw ParseError(description: "rate '\(text)': give increasing rates, e.g. 0.5,1,2")
        }
        return values.map { .rate($0) }
    }

    /// "30s", "2m", "500ms", "1.5" (seconds).
    public static func seconds(_ text: String, option: String) throws -> Double {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = t, scale = 1.0
        for (suffix, s) in units where t.hasSuffix(suffix) {
            number = String(t.dropLast(suffix.count))
            scale = s
            break
        }
        guard let v = Double(number), v > 0, v.isFinite, v * scale <= 86_400 else {
            throw ParseError(description: "\(option) '\(text)': a duration such as 30s, 500ms or 2m")
        }
        return v * scale
    }

    /// "ttft=1s,itl=250ms,e2e=10s".
    public static func slo(_ text: String) throws -> SLO {
        var slo = SLO()
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { throw ParseError(description: "slo '\(part)': write name=duration, e.g. ttft=1s") }
            let value = try seconds(kv[1], option: "slo \(kv[0])")
            switch kv[0].lowercased() {
            case "ttft": slo.ttft = value
            case "itl", "tpot": slo.itl = value
            case "e2e", "latency": slo.e2e = value
            default: throw ParseError(description: "slo '\(kv[0])': one of ttft, itl, e2e")
            }
        }
        return slo
    }

    /// "sql=0.5,base=0.5".
    public static func mix(_ text: String) throws -> [(model: String, weight: Double)] {
        let entries = try text.split(separator: ",").map { part -> (String, Double) in
            let kv = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, !kv[0].isEmpty, let w = Double(kv[1]), w > 0, w.isFinite else {
                throw ParseError(description: "mix '\(part)': write model=weight with a weight above 0, e.g. sql=0.5")
            }
            return (kv[0], w)
        }
        guard !entries.isEmpty else { throw ParseError(description: "mix '\(text)': no models") }
        return entries
    }
}
