import Foundation
import GraftModel
import Testing

@Suite struct SamplerTests {
    let logits: [Float] = [1.0, 3.0, 2.9, -1.0, 0.5]

    func draw(_ p: SamplingParameters, history: [Int32] = [], times: Int = 1) -> [Int32] {
        var s = Sampler(p)
        return (0..<times).map { _ in logits.withUnsafeBufferPointer { s.sample(logits: $0, history: history) } }
    }

    @Test func greedyIsArgmax() {
        #expect(draw(.greedy) == [1])
    }

    @Test func sameSeedSameTokens() {
        var p = SamplingParameters()
        p.temperature = 1.5; p.topK = 0; p.topP = 1; p.minP = 0; p.seed = 9
        let a = draw(p, times: 200), b = draw(p, times: 200)
        #expect(a == b)
        #expect(Set(a).count >= 4, "a hot temperature over all tokens should visit most of them")
    }

    @Test func filtersKeepOnlyTheirCandidates() {
        var p = SamplingParameters()
        p.temperature = 5; p.topP = 1; p.minP = 0
        p.topK = 2
        #expect(Set(draw(p, times: 300)) == [1, 2])
        p.topK = 0; p.topP = 0.3
        #expect(Set(draw(p, times: 100)) == [1])          // token 1 alone holds ≥ 30% of the mass
        p.topP = 1; p.minP = 0.5
        #expect(Set(draw(p, times: 300)) == [1, 2])       // 1.0 and 0.5 are below half of p(1)
    }

    @Test func repetitionPenaltyDemotesSeenTokens() {
        var p = SamplingParameters.greedy
        p.repetitionPenalty = 1.3
        #expect(draw(p, history: [1]) == [2])             // 3.0 / 1.3 < 2.9
        #expect(draw(p, history: [4]) == [1])
    }
}

/// The sampler's shortcuts (no ordering of the vocabulary without filters; selecting the top
/// tokens instead of sorting them all) against the definition on a vocabulary-sized input:
/// draw frequencies match softmax(logits / T) over what the filters keep.
@Suite struct SamplerDistributionTests {
    static func logits(_ n: Int) -> [Float] {
        var g = UInt64(12345)
        return (0..<n).map { _ in
            g = g &* 6364136223846793005 &+ 1442695040888963407
            return Float(Double(g >> 11) / Double(1 << 53)) * 8 - 4
        }
    }

    func frequencies(_ p: SamplingParameters, _ logits: [Float], draws: Int) -> [Int: Double] {
        var s = Sampler(p)
        var counts: [Int: Int] = [:]
        for _ in 0..<draws { counts[Int(logits.withUnsafeBufferPointer { s.sample(logits: $0, history: []) }), default: 0] += 1 }
        return counts.mapValues { Double($0) / Double(draws) }
    }

    func softmax(_ v: [Double]) -> [Double] {
        let m = v.max()!
        let e = v.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    @Test func noFilterDrawsFromTheWholeSoftmax() {
        let v = Self.logits(50)
        var p = SamplingParameters()
        p.temperature = 0.7; p.topK = 0; p.topP = 1; p.minP = 0; p.seed = 3
        let f = frequencies(p, v, draws: 40_000)
        let expected = softmax(v.map { Double($0) / 0.7 })
        for i in v.indices { #expect(abs((f[i] ?? 0) - expected[i]) < 0.012, "token \(i): \(f[i] ?? 0) vs \(expected[i])") }
    }

    @Test func topKAndTopPKeepTheRightTokensOnALargeVocabulary() {
        let v = Self.logits(49_152)
        let order = v.indices.sorted { v[$0] > v[$1] }
        var p = SamplingParameters()
        p.temperature = 1; p.topK = 40; p.topP = 1; p.minP = 0; p.seed = 5
        #expect(Set(frequencies(p, v, draws: 3000).keys).isSubset(of: Set(order.prefix(40))))
        p.topK = 0; p.topP = 0.01
        let probs = softmax(v.map(Double.init))
        var mass = 0.0, keep = 0
        for i in order { mass += probs[i]; keep += 1; if mass >= 0.01 { break } }
        let drawn = Set(frequencies(p, v, draws: 3000).keys)
        #expect(drawn.isSubset(of: Set(order.prefix(keep + 1))) && drawn.count > keep / 2, "\(drawn.count) drawn, \(keep) kept")
        p.topP = 1; p.minP = 0.9
        let kept = order.filter { Foundation.exp(Double(v[$0] - v[order[0]])) >= 0.9 }
        let minPDrawn = Set(frequencies(p, v, draws: 600).keys)
        #expect(minPDrawn.isSubset(of: Set(kept)) && minPDrawn.count > min(kept.count, 600) / 3, "\(minPDrawn.count) drawn of \(kept.count) kept")
    }
}
