/// Activation recomputation ("gradient checkpointing"): `body(x)` runs without recording, so
/// none of its intermediate buffers outlive the forward pass; the backward pass runs `body`
/// again with recording on, from a detached copy of `x`, and backpropagates through that.
/// Memory for a stack of blocks drops from all intermediates of all blocks to one block's, for
/// about one extra forward pass.
///
/// `parameters` are the leaves `body` reads that need gradients (adapter weights): the second
/// run accumulates into their `grad` directly. `body` must compute the same function both
/// times; anything random inside it has to replay its draws (see `LlamaModel`'s use).
public func recomputed(_ x: Tensor, parameters: [Tensor], _ body: @escaping (Tensor) -> Tensor) -> Tensor {
    let out = withNoGrad { body(x) }
    return Tensor.record(out, op: "recomputed", inputs: [x] + parameters) { g in
        GradMode.$isEnabled.withValue(true) {
            let input = x.detached()
            input.requiresGrad = x.requiresGrad
            let again = body(input)
            again.backward(g)
            return [x.requiresGrad ? input.grad : nil] + parameters.map { _ in nil }
        }
    }
}
