import GraftTensor
#if canImport(Glibc)
import Glibc
#endif

/// Settings for picking the next token, with llama.cpp's meanings and defaults where a setting
/// is off. The chain runs in llama.cpp's order: repetition penalty → top-k → top-p → min-p →
/// temperature → a draw from the seeded generator. Temperature 0 is greedy (argmax).
public struct SamplingParameters: Sendable, Equatable {
    public var temperature: Float = 0.8
    /// Keep the k most likely tokens; 0 keeps all.
    public var topK: Int = 40
    /// Keep the smallest set whose probability reaches p; 1 keeps all.
    public var topP: Float = 0.95
    /// Drop tokens less likely than minP × the most likely one's probability; 0 keeps all.
    public var minP: Float = 0.05
    /// Divide positive (multiply negative) logits of recently seen tokens; 1 is off.
    public var repetitionPenalty: Float = 1.0
    /// How many recent tokens the penalty looks at.
    public var penaltyWindow: Int = 64
    public var seed: UInt64 = 0

    public init() {}

    public static var greedy: SamplingParameters {
        var p = SamplingParameters()
        p.temperature = 0
        return p
    }
}

/// Picks tokens from logits according to `SamplingParameters`; owns the random stream, so a
/// seed reproduces a whole generation.
public struct Sampler {
    public let parameters: SamplingParameters
    public var generator: RandomGenerator

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        generator = RandomGenerator(seed: parameters.seed)
    }

    /// The next token given the logits of the last position and the tokens so far.
    public mutating func sample(logits: UnsafeBufferPointer<Float>, history: [Int32]) -> Int32 {
        var values = Array(logits)
        let p = parameters
        if p.repetitionPenalty != 1, p.penaltyWindow > 0 {
            for id in Set(history.suffix(p.penaltyWindow)) where Int(id) < values.count {
                let v = values[Int(id)]
                values[Int(id)] = v > 0 ? v / p.repetitionPenalty : v * p.repetitionPenalty
            }
        }
        if p.temperature <= 0 { return Int32(Self.argmax(values)) }

        var candidates = Array(values.indices)
        if p.topK > 0 && p.topK < candidates.count {
            candidates = Array(candidates.sorted { values[$0] > values[$1] }.prefix(p.topK))
        } else {
            candidates.sort { values[$0] > values[$1] }
        }
        var probs = Self.softmax(candidates.map { values[$0] })
        if p.topP < 1 {
            var cumulative: Float = 0
            var keep = candidates.count
            for (i, q) in probs.enumerated() {
                cumulative += q
                if cumulative >= p.topP { keep = i + 1; break }
            }
            candidates = Array(candidates.prefix(keep))
        }
        if p.minP > 0 {
            probs = Self.softmax(candidates.map { values[$0] })
            let threshold = p.minP * probs[0]
            let keep = max(1, probs.prefix { $0 >= threshold }.count)
            candidates = Array(candidates.prefix(keep))
        }
        probs = Self.softmax(candidates.map { values[$0] / p.temperature })
        let u = generator.nextUniform()
        var cumulative: Float = 0
        for (i, q) in probs.enumerated() {
            cumulative += q
            if u < cumulative { return Int32(candidates[i]) }
        }
        return Int32(candidates[candidates.count - 1])
    }

    static func argmax(_ v: [Float]) -> Int {
        var best = 0
        for i in v.indices where v[i] > v[best] { best = i }
        return best
    }

    static func softmax(_ v: [Float]) -> [Float] {
        guard let m = v.max() else { return [] }
        let e = v.map { expf($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }
}
