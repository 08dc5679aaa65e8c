import Foundation
import GraftTensor
@testable import GraftTrain
import Testing
import GraftTestSupport

/// Learning-rate schedules and gradient clipping against transformers and torch
/// (Scripts/make_schedule_fixtures.py).
@Suite struct ScheduleTests {
    let fixture: [String: Any] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: Fixtures.path("schedules.json")))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    @Test(arguments: [("constant", LearningRateSchedule.Shape.constant, Float(0)), ("linear", .linear, 0),
                      ("cosine", .cosine, 0), ("cosine_min_lr_0.1", .cosine, 0.1)])
    func ratesEqualTransformers(_ key: String, _ shape: LearningRateSchedule.Shape, _ minRatio: Float) {
        let expected = fixture[key] as! [Double]
        let s = LearningRateSchedule(shape: shape, peak: 2e-4, warmup: 10, totalSteps: 100, minRatio: minRatio)
        for (step, rate) in expected.enumerated() {
            #expect(abs(Double(s.rate(step)) - rate) <= 1e-6 * 2e-4, "step \(step): \(s.rate(step)) vs \(rate)")
        }
    }

    @Test func clippingEqualsTorch() {
        for case let c as [String: Any] in fixture["clip"] as! [Any] {
            let grads = (c["grads"] as! [[Double]]).map { $0.map(Float.init) }
            let params = grads.map { g -> Tensor in
                let p = Tensor.zeros([g.count], requiresGrad: true)
                p.grad = Tensor(g, shape: [g.count])
                return p
            }
            let norm = clipGradientNorm(params, maxNorm: Float(c["max_norm"] as! Double))
            #expect(abs(Double(norm) - (c["norm"] as! Double)) <= 1e-5)
            for (p, expected) in zip(params, c["clipped"] as! [[Double]]) {
                #expect(zip(p.grad!.toArray(), expected).allSatisfy { abs(Double($0) - $1) <= 1e-6 })
            }
        }
    }
}
