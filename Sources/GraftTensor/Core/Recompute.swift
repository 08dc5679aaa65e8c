/// How much of a block's forward pass the backward pass computes again ("gradient
/// checkpointing"), as `recomputed` does it.
public enum Recomputation: String, Sendable, CaseIterable {
    /// Every intermediate is kept: the most memory, no extra work.
    case none
    /// The outputs of the frozen base's matrix products (the expensive part of a block) are kept
    /// through the forward pass; everything cheap (norms, RoPE, attention, SwiGLU, the low-rank
    /// updates) is computed again. About 60% of the activations of `.none`, for a fraction of
    /// `.full`'s extra work.
    case selective
    /// Nothing inside a block is kept: one block's activations at a time, for one more forward pass.
    case full
}

/// Activation recomputation: `body(x)` runs without recording, so none of its intermediate
/// buffers outlive the forward pass; the backward pass runs `body` again with recording on, from
/// a detached copy of `x`, and backpropagates through that. Memory for a stack of blocks drops
/// from all intermediates of all blocks to one block's, for about one extra forward pass. With
/// `keep` set to `.selective`, results made through `RecomputeTape.reusable` (the frozen base's
/// products) are kept from the first run and handed back to the second instead of being computed
/// again.
///
/// `parameters` are the leaves `body` reads that need gradients (adapter weights): the second
/// run accumulates into their `grad` directly. `body` must compute the same function both
/// times; anything random inside it has to replay its draws (see `LlamaModel`'s use).
public func recomputed(_ x: Tensor, parameters: [Tensor], keep: Recomputation = .full,
                       _ body: @escaping (Tensor) -> Tensor) -> Tensor {
    let tape = keep == .selective ? RecomputeTape() : nil
    let out = RecomputeTape.$current.withValue(tape) { withNoGrad { body(x) } }
    return Tensor.record(out, op: "recomputed", inputs: [x] + parameters) { g in
        GradMode.$isEnabled.withValue(true) {
            let input = x.detached()
            input.requiresGrad = x.requiresGrad
            tape?.startReplay()
            let again = RecomputeTape.$current.withValue(tape) { body(input) }
            tape?.finishReplay()
            again.backward(g)
            return [x.requiresGrad ? input.grad : nil] + parameters.map { _ in nil }
        }
    }
}

/// The results a selectively recomputed region keeps from its first run, in the order they were
/// made, handed back one by one (and released) as the second run asks for them again.
public final class RecomputeTape: @unchecked Sendable {
    @TaskLocal static var current: RecomputeTape?

    /// Whether a selectively recomputed region is running: code that would take another path
    /// in its second run (gradients on) than in its first (gradients off) must not, or the
    /// second run would ask for results the first did not keep.
    public static var isActive: Bool { current != nil }

    private var kept: [Tensor?] = []
    private var next = 0
    private var replaying = false

    /// A tensor of `shape` filled by `fill`. Inside the first run of a selective region its
    /// contents are also kept (a copy, since the caller may go on writing into the result); in
    /// the second run the kept tensor is returned and `fill` is not called. Outside a selective
    /// region this is just `fill` into a new tensor.
    public static func reusable(shape: [Int], _ fill: (UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        guard let tape = current else {
            let t = Tensor(uninitializedShape: shape)
            fill(t.basePointer)
            return t
        }
        if tape.replaying {
            // The second run asks for the same results in the same order: anything else is a
            // body that does not compute the same function twice (a programming error).
            precondition(tape.next < tape.kept.count, "recomputation asked for more kept results than the first run made")
            guard let t = tape.kept[tape.next], t.shape == shape else {
                preconditionFailure("recomputation asked for a result of shape \(shape) the first run did not make here")
            }
            tape.kept[tape.next] = nil
            tape.next += 1
            return t
        }
        let t = Tensor(uninitializedShape: shape)
        fill(t.basePointer)
        let copy = Tensor(uninitializedShape: shape)
        copy.basePointer.update(from: t.basePointer, count: t.count)
        tape.kept.append(copy)
        return t
    }

    func startReplay() {
        replaying = true
        next = 0
    }

    func finishReplay() {
        precondition(next == kept.count, "recomputation used \(next) of the \(kept.count) results the first run kept")
        kept = []
    }
}
