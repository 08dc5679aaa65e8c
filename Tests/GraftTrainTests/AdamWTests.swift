import GraftFormats
import GraftTensor
import GraftTrain
import Testing
import GraftTestSupport

@Suite struct AdamWTests {
    /// Three steps against torch.optim.AdamW (lr 1e-2, weight decay 0.1) on the same gradients,
    /// from Scripts/make_tensor_fixtures.py.
    @Test func equalsTorchAdamW() throws {
        let file = try SafetensorsFile(path: Fixtures.path("adamw.safetensors"))
        let p = try file.tensor("p0")
        var opt = AdamW(parameters: [p], beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1)
        for step in 1...3 {
            p.grad = try file.tensor("g\(step)")
            opt.update(lr: 1e-2)
            let expected = try file.tensor("p\(step)").toArray()
            let worst = zip(p.toArray(), expected).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-6, "step \(step): max difference \(worst)")
            #expect(p.grad == nil)
        }
    }
}

@Suite struct ToyTaskTests {
    @Test func lossFallsWellBelowUniform() {
        var task = ToyTask(seed: 3)
        var last: [Float] = []
        for step in 1...150 {
            let l = task.trainStep(lr: 1e-2)
            if step > 130 { last.append(l) }
        }
        let mean = last.reduce(0, +) / Float(last.count)
        #expect(mean < 0.25 * task.uniformLoss, "loss after 150 steps: \(mean)")
    }
}
