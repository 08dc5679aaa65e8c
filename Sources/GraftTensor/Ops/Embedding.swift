/// Row lookup in an embedding table. The backward scatter-adds each output row's gradient
/// into the row of the table it came from (rows looked up twice get both contributions).
public func embedding(_ weight: Tensor, ids: [Int32], shape idShape: [Int]? = nil) -> Tensor {
    require(weight.rank == 2, .invalidShape(op: "embedding", shape: weight.shape, reason: "the table must be [vocab, dim]"))
    let vocab = weight.shape[0], dim = weight.shape[1]
    let idShape = idShape ?? [ids.count]
    require(Shape.count(idShape) == ids.count,
            .invalidArgument(op: "embedding", reason: "\(ids.count) ids do not fill the shape \(idShape)"))
    for (i, id) in ids.enumerated() where id < 0 || Int(id) >= vocab {
        fail(.invalidArgument(op: "embedding", reason: "id \(id) at position \(i) is outside the table of \(vocab) rows"))
    }
    let w = weight.contiguousData()
    let out = Tensor(uninitializedShape: idShape + [dim])
    let pw = w.basePointer, po = out.basePointer
    for (i, id) in ids.enumerated() {
        (po + i * dim).update(from: pw + Int(id) * dim, count: dim)
    }
    return Tensor.record(out, op: "embedding", inputs: [weight]) { g in
        let gw = Tensor.zeros([vocab, dim])
        let pg = g.basePointer, pgw = gw.basePointer
        for (i, id) in ids.enumerated() {
            Kernels.axpy(1, pg + i * dim, pgw + Int(id) * dim, dim)
        }
        return [gw]
    }
}
