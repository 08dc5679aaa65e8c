/// Whether ops record their history. Off inside `withNoGrad`, for inference and optimizer steps.
public enum GradMode {
    @TaskLocal public static var isEnabled = true
}

/// Runs `body` without recording history: results never require gradients, and no buffer is
/// kept alive for a backward pass.
public func withNoGrad<T>(_ body: () throws -> T) rethrows -> T {
    try GradMode.$isEnabled.withValue(false) { try body() }
}

/// One recorded op: its inputs, and how to turn the gradient of its output into gradients of
/// its inputs. The closure holds whatever the op saved from its forward pass; both are released
/// as soon as backward has run through the node.
final class GradNode {
    let op: String
    var inputs: [Tensor]
    var backward: ((Tensor) -> [Tensor?])?

    init(op: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.op = op
        self.inputs = inputs
        self.backward = backward
    }
}

extension Tensor {
    /// Attaches history to a freshly computed `result` when grad mode is on and any input
    /// requires a gradient. `backward` receives the output's gradient (contiguous, same shape)
    /// and returns one gradient per input, `nil` for inputs that need none. Public so that ops
    /// defined in other modules (the quantized linear layer) join the same tape.
    @discardableResult
    public static func record(_ result: Tensor, op: String, inputs: [Tensor],
                       backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return result }
        result.gradNode = GradNode(op: op, inputs: inputs, backward: backward)
        return result
    }

    /// Reverse-mode differentiation from this tensor. The tape is the recorded graph put in
    /// topological order; it is walked backwards once, each node's saved buffers are released
    /// when it has run, and gradients end in `grad` of the leaves that require them (added to
    /// what is there, so several backward passes accumulate as in PyTorch).
    ///
    /// - Parameter seed: the gradient of the output; defaults to 1 for a one-element tensor.
    public func backward(_ seed: Tensor? = nil) {
        let seedGrad: Tensor
        if let seed {
            require(seed.shape == shape, .shapeMismatch(op: "backward", lhs: shape, rhs: seed.shape,
                                                        reason: "the seed gradient must have the output's shape"))
            seedGrad = seed.contiguousData()
        } else {
            require(count == 1, .invalidShape(op: "backward", shape: shape,
                                              reason: "a non-scalar output needs an explicit seed gradient"))
            seedGrad = Tensor([1], shape: shape)
        }
        guard requiresGrad else { return }

        let tape = topologicalOrder()
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seedGrad]
        var owned = Set<ObjectIdentifier>()

        withNoGrad {
            for t in tape.reversed() {
                let id = ObjectIdentifier(t)
                guard let g = grads.removeValue(forKey: id) else {
                    t.gradNode = nil
                    continue
                }
                guard let node = t.gradNode else {
                    if t.leafRequiresGrad { t.accumulateGrad(g, owned: owned.contains(id)) }
                    continue
                }
                let inputGrads = node.backward!(g)
                for (input, ig) in zip(node.inputs, inputGrads) {
                    guard let ig, input.requiresGrad else { continue }
                    let key = ObjectIdentifier(input)
                    if let existing = grads[key] {
                        if owned.contains(key) {
                            addInPlace(existing, ig)
                        } else {
                            let sum = Tensor(uninitializedShape: existing.shape)
                            sum.basePointer.update(from: existing.basePointer, count: existing.count)
                            addInPlace(sum, ig)
                            grads[key] = sum
                            owned.insert(key)
                        }
                    } else {
                        grads[key] = ig.contiguousData()
                    }
                }
                node.backward = nil
                node.inputs = []
                t.gradNode = nil
            }
        }
    }

    /// Every tensor with history reachable from this one, inputs before the ops that use them.
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            guard visited.insert(ObjectIdentifier(t)).inserted else { continue }
            stack.append((t, true))
            if let node = t.gradNode {
                for input in node.inputs where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
            }
        }
        return order
    }

    private func accumulateGrad(_ g: Tensor, owned: Bool) {
        if let existing = grad {
            addInPlace(existing, g)
        } else if owned && g.isContiguous {
            grad = g
        } else {
            let copy = Tensor(uninitializedShape: shape)
            stridedCopy(from: g, to: copy.basePointer)
            grad = copy
        }
    }

    /// Sets `grad` to nil, as an optimizer does before the next step.
    public func zeroGrad() { grad = nil }
}

/// dst += src, elementwise, for contiguous tensors of one shape.
func addInPlace(_ dst: Tensor, _ src: Tensor) {
    let s = src.contiguousData()
    let n = dst.count
    let d = dst.basePointer, p = s.basePointer
    parallelChunks(n) { r in
        Kernels.add(d + r.lowerBound, p + r.lowerBound, d + r.lowerBound, r.count)
    }
}

