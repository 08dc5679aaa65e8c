import GraftTensor
import Testing

@Suite struct MatMulTests {
    /// Naive triple loop, the reference the BLAS path is held to.
    func reference(_ a: [[Float]], _ b: [[Float]]) -> [[Float]] {
        let m = a.count, k = b.count, n = b[0].count
        return (0..<m).map { i in (0..<n).map { j in (0..<k).reduce(Float(0)) { $0 + a[i][$1] * b[$1][j] } } }
    }

    func rows(_ t: Tensor) -> [[Float]] {
        let c = t.contiguous()
        return (0..<c.shape[0]).map { i in (0..<c.shape[1]).map { c[i, $0] } }
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func twoDimensionalAllTransposes(_ flags: (Bool, Bool)) {
        let (ta, tb) = flags
        let a = randomTensor(ta ? [4, 3] : [3, 4], seed: 20)
        let b = randomTensor(tb ? [5, 4] : [4, 5], seed: 21)
        let c = matmul(a, b, transposeA: ta, transposeB: tb)
        #expect(c.shape == [3, 5])
        let ra = ta ? rows(a.transposed()) : rows(a), rb = tb ? rows(b.transposed()) : rows(b)
        expectClose(c.toArray(), reference(ra, rb).flatMap { $0 })
        checkGradients([a, b]) { matmul($0[0], $0[1], transposeA: ta, transposeB: tb) }
    }

    @Test(arguments: [(false, false), (true, true), (false, true)])
    func batchedBothSides(_ flags: (Bool, Bool)) {
        let (ta, tb) = flags
        let a = randomTensor(ta ? [2, 3, 4, 3] : [2, 3, 3, 4], seed: 22)
        let b = randomTensor(tb ? [2, 3, 5, 4] : [2, 3, 4, 5], seed: 23)
        checkGradients([a, b]) { matmul($0[0], $0[1], transposeA: ta, transposeB: tb) }
    }

    @Test(arguments: [false, true])
    func batchAgainstSharedWeight(_ tb: Bool) {
        let x = randomTensor([2, 3, 4], seed: 24)
        let w = randomTensor(tb ? [5, 4] : [4, 5], seed: 25)
        checkGradients([x, w]) { matmul($0[0], $0[1], transposeB: tb) }
        checkGradients([x, w]) { matmul($0[0].transposed(), $0[1].transposed(), transposeA: true, transposeB: !tb) }
        let c = matmul(x, w, transposeB: tb)
        let row = matmul(x.slice(axis: 0, 1..<2).reshaped([3, 4]), w, transposeB: tb)
        expectClose(c.slice(axis: 0, 1..<2).reshaped([3, 5]).toArray(), row.toArray(), tolerance: 1e-6)
    }

    @Test func sharedMatrixAgainstBatch() {
        let a = randomTensor([3, 4], seed: 26), b = randomTensor([2, 4, 5], seed: 27)
        checkGradients([a, b]) { matmul($0[0], $0[1]) }
    }

    @Test func transposedViewsAreNotCopied() {
        let a = randomTensor([6, 4], seed: 28), b = randomTensor([6, 5], seed: 29)
        let viaView = matmul(a.transposed(), b)
        let viaFlag = matmul(a, b, transposeA: true)
        #expect(viaView.toArray() == viaFlag.toArray())
        checkGradients([a, b]) { matmul($0[0].transposed(), $0[1]) }
    }

    @Test func shapeErrorNamesOpAndShapes() {
        #expect(throws: TensorError.self) { try Shape.broadcast([2, 3], [4], op: "add") }
        do {
            _ = try Shape.broadcast([2, 3], [4], op: "add")
        } catch {
            #expect(error.description == "add: shapes [2, 3] and [4] do not fit: axis -1 has sizes 3 and 4, which do not broadcast")
        }
        let e = TensorError.shapeMismatch(op: "matmul", lhs: [3, 4], rhs: [5, 6], reason: "inner dimensions 4 and 5 differ")
        #expect(e.description.contains("matmul") && e.description.contains("[3, 4]") && e.description.contains("[5, 6]"))
    }
}
