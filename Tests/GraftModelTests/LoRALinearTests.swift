import Foundation
import GraftFormats
@testable import GraftModel
import GraftTensor
import Testing
import GraftTestSupport

/// LoRALinear against PEFT (Scripts/make_lora_fixtures.py): forward, gradients, merge and
/// unmerge of plain LoRA, rsLoRA, DoRA and DoRA with rsLoRA on a [24, 40] layer.
@Suite struct LoRALinearTests {
    let file: SafetensorsFile

    init() throws { file = try SafetensorsFile(path: Fixtures.path("lora_linear.safetensors")) }

    func t(_ name: String) throws -> Tensor { try file.tensor(name) }

    /// The largest difference relative to the reference's largest magnitude: the fixture holds
    /// float64 results, Graft computes in float32 (whose rounding alone is ~6e-8 relative).
    func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        #expect(a.shape == b.shape)
        let d = zip(a.toArray(), b.toArray()).map { abs($0 - $1) }.max() ?? 0
        return d / max(b.toArray().map(abs).max() ?? 0, 1)
    }

    func layer(_ c: String) throws -> LoRALinear {
        let dora = c.hasPrefix("dora")
        let config = LoRAConfig(rank: 4, alpha: 8, dropout: 0, targets: [.qProj], rsLoRA: c.hasSuffix("rslora"), dora: dora)
        return LoRALinear(base: DenseLinear(try t("\(c).W")), config: config, a: try t("\(c).A"), b: try t("\(c).B"),
                          magnitude: dora ? try t("\(c).m") : nil)
    }

    @Test(arguments: ["plain", "rslora", "dora", "dora_rslora"])
    func forwardAndGradientsEqualPEFT(_ c: String) throws {
        let lora = try layer(c)
        let x = try t("\(c).x")
        x.requiresGrad = true
        let y = lora(x, kernels: .exact)
        #expect(maxDifference(y, try t("\(c).y")) <= 1e-6)
        (y * (try t("\(c).probe"))).sum().backward()
        #expect(maxDifference(x.grad!, try t("\(c).grad.x")) <= 1e-6)
        #expect(maxDifference(lora.a.grad!, try t("\(c).grad.A")) <= 1e-6)
        #expect(maxDifference(lora.b.grad!, try t("\(c).grad.B")) <= 1e-6)
        if let m = lora.magnitude { #expect(maxDifference(m.grad!, try t("\(c).grad.m")) <= 1e-6) }
    }

    @Test(arguments: ["plain", "rslora", "dora", "dora_rslora"])
    func mergeAndUnmergeEqualPEFT(_ c: String) throws {
        let lora = try layer(c)
        let merged = lora.denseWeight()
        #expect(maxDifference(merged, try t("\(c).merged_W")) <= 1e-6)
        #expect(maxDifference(lora.unmerge(merged), try t("\(c).unmerged_W")) <= 1e-6)
        // The merged layer computes what the adapted layer does.
        let x = try t("\(c).x")
        #expect(maxDifference(DenseLinear(merged)(x, kernels: .exact), try t("\(c).y")) <= 1e-5)
    }

    @Test func doraNormsFollowChangesToAandB() throws {
        // The cached weight norms are reused while A and B stay, and recomputed when they move.
        let lora = try layer("dora")
        let x = try t("dora.x")
        let first = lora(x, kernels: .exact).toArray()
        #expect(lora(x, kernels: .exact).toArray() == first)
        lora.b.withUnsafeMutableBufferPointer { b in for i in b.indices { b[i] *= 0.5 } }
        let moved = lora(x, kernels: .exact).toArray()
        let fresh = LoRALinear(base: lora.base, config: lora.config, a: lora.a, b: lora.b.detached(), magnitude: lora.magnitude)
        #expect(moved == fresh(x, kernels: .exact).toArray())
        #expect(moved != first)
    }

    @Test func doraMagnitudeStartsAtRowNorms() throws {
        let config = LoRAConfig(rank: 4, alpha: 8, targets: [.qProj], dora: true)
        var g = RandomGenerator(seed: 1)
        let lora = LoRALinear(base: DenseLinear(try t("dora.W")), config: config, generator: &g)
        #expect(maxDifference(lora.magnitude!, try t("dora.m_init")) <= 1e-6)
    }

    @Test func initialisationFollowsPEFT() throws {
        // PEFT: kaiming_uniform(a=√5) ⇒ A ~ U(−1/√in, 1/√in); B = 0 (so the layer starts as its base).
        let bound = try t("init.A_absmax_bound").toArray()[1]
        var g = RandomGenerator(seed: 7)
        let lora = LoRALinear(base: DenseLinear(Tensor.zeros([24, 40])), config: LoRAConfig(rank: 8, alpha: 16), generator: &g)
        let a = lora.a.toArray()
        #expect(abs(bound - 1 / Float(40).squareRoot()) < 1e-6)
        #expect(a.allSatisfy { abs($0) <= bound } && a.map(abs).max()! > 0.8 * bound)
        #expect(lora.b.toArray() == (try t("init.B")).toArray().prefix(24 * 8).map { $0 })
        #expect(lora.config.scaling == 2)
        #expect(LoRAConfig(rank: 4, alpha: 8, rsLoRA: true).scaling == 4)
    }

    @Test func ropeRowOrderMatchesLlamaCppPermute() {
        // llama.cpp: w.reshape(heads, 2, D/2, …).swapaxes(1, 2): GGUF row 2i+s of a head is HF row s·D/2 + i.
        let p = RoPERowOrder.ggufFromHF(heads: 2, headDim: 4)
        #expect(p == [0, 2, 1, 3, 4, 6, 5, 7])
        let q = RoPERowOrder.hfFromGGUF(heads: 2, headDim: 4)
        #expect(p.indices.allSatisfy { q[p[$0]] == $0 })
    }
}
