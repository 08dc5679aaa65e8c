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
        let n = values.count
        guard n > 0 else { return 0 }
        if (p.topK <= 0 || p.topK >= n) && p.topP >= 1 && p.minP <= 0 {
            return Int32(drawFromAll(values, temperature: p.temperature))
        }
        // Candidates in order of logit (ties by id): the top K, or for top-p and min-p over the
        // whole vocabulary, the fewest top tokens that decide them (found by growing the set
        // instead of sorting the vocabulary for every token).
        var candidates: [Int]
        var probs: [Float]
        if p.topK > 0 && p.topK < n {
            candidates = Self.topIndices(values, p.topK)
            probs = Self.softmax(candidates.map { values[$0] })
        } else {
            let m = values.max()!
            var total: Float = 0
            for v in values { total += expf(v - m) }
            var size = min(n, 64)
            while true {
                candidates = Self.topIndices(values, size)
                probs = candidates.map { expf(values[$0] - m) / total }
                let mass = probs.reduce(0, +)
                let topPDecided = p.topP >= 1 || mass >= p.topP               // the top-p cut falls inside
                let minPDecided = p.minP <= 0 || probs[probs.count - 1] < p.minP * probs[0]  // so does min-p's
                if size == n || (topPDecided && minPDecided) { break }
                size = min(n, size * 4)
            }
        }
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

    /// A draw from softmax(values / T) over the whole vocabulary, walking it in id order: no
    /// ordering of the vocabulary is needed when no filter applies.
    mutating func drawFromAll(_ values: [Float], temperature: Float) -> Int {
        let m = values.max()!
        var total: Float = 0
        for v in values { total += expf((v - m) / temperature) }
        let target = generator.nextUniform() * total
        var cumulative: Float = 0
        for (i, v) in values.enumerated() {
            cumulative += expf((v - m) / temperature)
            if target < cumulative { return i }
        }
        return values.count - 1
    }

    /// The ids of the k largest values, largest first (equal values by id), as a stable sort
    /// of the whole vocabulary would order them, in O(n + k log k).
    static func topIndices(_ values: [Float], _ k: Int) -> [Int] {
        let n = values.count
        guard k < n else { return values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) } }
        var buffer = values
        let tau = kthLargest(&buffer, k - 1)
        var picked: [Int] = []
        picked.reserveCapacity(k)
        for i in 0..<n where values[i] > tau { picked.append(i) }
        for i in 0..<n where picked.count < k && values[i] == tau { picked.append(i) }
        return picked.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
    }

    /// The value that would be at index `k` if `a` were sorted largest first (Hoare's select).
    static func kthLargest(_ a: inout [Float], _ k: Int) -> Float {
        var (lo, hi) = (0, a.count - 1)
        while lo < hi {
            let pivot = a[lo + (hi - lo) / 2]
            var (i, j) = (lo, hi)
            while i <= j {
                while a[i] > pivot { i += 1 }
                while a[j] < pivot { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return a[k] }
        }
        return a[k]
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
