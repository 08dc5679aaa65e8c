import GraftTensor
import Testing

@Suite struct AutogradTests {
    @Test func onlyTensorsThatRequireGradRecord() {
        let a = randomTensor([3], seed: 60), b = randomTensor([3], seed: 61)
        #expect(!(a * b).requiresGrad)
        a.requiresGrad = true
        let c = a * b
        #expect(c.requiresGrad && !c.isLeaf)
        c.sum().backward()
        #expect(b.grad == nil)
        expectClose(a.grad!.toArray(), b.toArray(), tolerance: 0)
    }

    @Test func noGradModeRecordsNothing() {
        let a = randomTensor([3], seed: 62)
        a.requiresGrad = true
        let c = withNoGrad { (a * 2).exp() }
        #expect(!c.requiresGrad && c.isLeaf)
    }

    @Test func gradientsAccumulateAcrossBackwardPassesAndReuse() {
        let a = randomTensor([4], seed: 63)
        a.requiresGrad = true
        (a * a + a).sum().backward()       // a used three times in one graph
        let first = a.grad!.toArray()
        expectClose(first, a.toArray().map { 2 * $0 + 1 }, tolerance: 1e-6)
        (a * 3).sum().backward()
        expectClose(a.grad!.toArray(), first.map { $0 + 3 }, tolerance: 1e-6)
        a.zeroGrad()
        #expect(a.grad == nil)
    }

    @Test func savedBuffersAreReleasedAfterBackward() {
        let a = randomTensor([8, 8], seed: 64)
        a.requiresGrad = true
        weak var saved: Tensor?
        var loss: Tensor
        do {
            let hidden = a.silu()      // saved by the product below
            saved = hidden
            loss = (hidden * hidden).sum()
        }
        #expect(saved != nil, "the graph keeps the intermediate alive until backward")
        loss.backward()
        #expect(saved == nil, "backward releases the intermediate")
        loss = Tensor(scalar: 0)
        _ = loss
    }

    @Test func diamondGraphSumsBothPaths() {
        let x = randomTensor([2, 3], seed: 65)
        checkGradients([x]) { t in
            let h = t[0].silu()
            return h.softmax() * h + h.transposed().sum(axes: [0], keepDims: true).transposed()
        }
    }
}
