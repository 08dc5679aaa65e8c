import GraftTensor
import Testing

@Suite struct ElementwiseGradientTests {
    @Test(arguments: [
        ([3, 4], [3, 4]), ([3, 4], [4]), ([2, 1, 4], [3, 1]), ([1], [2, 3]), ([2, 3, 4], [2, 1, 4]),
    ])
    func binaryOpsBroadcast(_ shapes: ([Int], [Int])) {
        let a = randomTensor(shapes.0, seed: 1)
        let b = randomTensor(shapes.1, seed: 2) + 3  // away from 0 for division
        let bl = b.detached()
        checkGradients([a, bl]) { $0[0] + $0[1] }
        checkGradients([a, bl]) { $0[0] - $0[1] }
        checkGradients([a, bl]) { $0[0] * $0[1] }
        checkGradients([a, bl]) { $0[0] / $0[1] }
    }

    @Test func binaryOpsOnStridedViews() {
        let a = randomTensor([4, 3], seed: 3)
        let b = randomTensor([3, 4], seed: 4)
        checkGradients([a, b]) { $0[0] * $0[1].transposed() + $0[0] }
        let values = (a * b.transposed()).toArray()
        let expected = zip(a.toArray(), b.transposed().contiguous().toArray()).map { $0 * $1 }
        #expect(values == expected)
    }

    @Test func scalarOps() {
        let a = randomTensor([5, 3], seed: 5)
        checkGradients([a]) { $0[0] * 2.5 + 1 }
        checkGradients([a]) { 3 - $0[0] / 4 }
        checkGradients([a]) { -$0[0] - 0.5 }
    }

    @Test func unaryFunctions() {
        let a = randomTensor([4, 5], seed: 6)
        let positive = (randomTensor([4, 5], seed: 7).square() + 0.5).detached()
        checkGradients([a]) { $0[0].square() }
        checkGradients([a]) { $0[0].exp() }
        checkGradients([positive]) { $0[0].log() }
        checkGradients([positive]) { $0[0].sqrt() }
        checkGradients([positive]) { $0[0].pow(1.5) }
    }

    @Test func simdMatchesReferenceKernel() {
        let a = randomTensor([1000], seed: 8), b = randomTensor([1000], seed: 9)
        var out1 = [Float](repeating: 0, count: 1000), out2 = out1
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                Kernels.add(pa.baseAddress!, pb.baseAddress!, &out1, 1000)
                Kernels.addReference(pa.baseAddress!, pb.baseAddress!, &out2, 1000)
            }
        }
        #expect(out1 == out2)
    }

    @Test func vectorExpIsAccurate() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            var v = Kernels.V(repeating: 0)
            for i in 0..<16 { v[i] = x + Float(i) * 0.0137 }
            let e = Kernels.exp(v)
            for i in 0..<16 {
                let ref = Float(referenceExp(Double(v[i])))
                worst = max(worst, abs(e[i] - ref) / ref)
            }
            x += 0.31
        }
        #expect(worst < 5e-7)
        #expect(Kernels.exp(Kernels.V(repeating: -.infinity))[0] == 0)
    }

    @Test func siluAndSoftmax() {
        let a = randomTensor([3, 7], seed: 10, std: 2)
        checkGradients([a]) { $0[0].silu() }
        checkGradients([a]) { $0[0].softmax() }
        let s = a.softmax().sum(axes: [-1]).toArray()
        for v in s { #expect(abs(v - 1) < 1e-6) }
    }

    /// The fused SwiGLU product equals silu(gate) · up bit for bit, forward and backward (37
    /// elements a row: vector and scalar tails), and passes the finite-difference check.
    @Test func swigluEqualsSiluTimesUp() {
        let gate = randomTensor([5, 37], seed: 12, std: 2), up = randomTensor([5, 37], seed: 13)
        let weights = randomTensor([5, 37], seed: 14)
        checkGradients([gate, up]) { swiglu($0[0], $0[1]) }
        [gate, up].forEach { $0.requiresGrad = true; $0.zeroGrad() }
        let fused = swiglu(gate, up)
        (fused * weights).sum().backward()
        let mine = [fused.toArray(), gate.grad!.toArray(), up.grad!.toArray()]
        [gate, up].forEach { $0.zeroGrad() }
        let composed = gate.silu() * up
        (composed * weights).sum().backward()
        #expect(mine == [composed.toArray(), gate.grad!.toArray(), up.grad!.toArray()])
    }
}

#if canImport(Glibc)
import Glibc
func referenceExp(_ x: Double) -> Double { Glibc.exp(x) }
#endif
