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
