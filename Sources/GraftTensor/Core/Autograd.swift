/// Whether ops record their history. Off inside `withNoGrad`, for inference and optimizer steps.
public enum GradMode {
    @TaskLocal public static var isEnabled = true
}

/// Runs `body` without recording history: results never require gradients, and no buffer is
/// kept alive for a backward pass.
public func withNoGrad<T>(_ body: () throws -> T) rethrows -> T {
    try GradMode.$isEnabled.withValue(false) { try body() }
}

/// One recorded op: where its inputs came from, and how to turn the gradient of its output into
/// gradients of its inputs. The closure holds whatever the op saved from its forward pass; both
/// are released as soon as backward has run through the node.
///
/// A node refers to the nodes that computed its inputs, not to the input tensors: an intermediate
/// that no backward closure saved is freed as soon as the forward pass drops it (holding the
/// tensors kept every activation of a training step alive, 2.2 GB at 512 tokens on SmolLM2).
final class GradNode {
    let op: String
    var inputs: [GradEdge]
    var backward: ((Tensor) -> [Tensor?])?

    init(op: String, inputs: [GradEdge], backward: @escaping (Tensor) -> [Tensor?]) {
        self.op = op
        self.inputs = inputs
        self.backward = backward
    }
}

/// Where an op's input gets its gradient: the node that computed it, a leaf that accumulates it
/// into `grad`, or nowhere (a constant).
enum GradEdge {
    case node(GradNode)
    case leaf(Tensor)
    case constant

    init(_ t: Tensor) {
        if let node = t.gradNode { self = .node(node) }
        else if t.leafRequiresGrad { self = .leaf(t) }
        else { self = .constant }
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
        result.gradNode = GradNode(op: op, inputs: inputs.map(GradEdge.init), backward: backward)
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
        guard let root = gradNode else {
            withNoGrad { accumulateGrad(seedGrad, owned: false) }
            return
        }
        // A graph that a backward pass has already consumed has nothing left to give.
        guard root.backward != nil else { return }

        let tape = Self.topologicalOrder(from: root)
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seedGrad]
        var owned = Set<ObjectIdentifier>()
        // Leaves in the order their first gradient arrived, with the sum so far.
        var leaves: [(Tensor, ObjectIdentifier)] = []

        func add(_ ig: Tensor, to key: ObjectIdentifier) {
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

        withNoGrad {
            for node in tape.reversed() {
                guard let g = grads.removeValue(forKey: ObjectIdentifier(node)), let backward = node.backward else {
                    node.backward = nil
                    node.inputs = []
                    continue
                }
                let inputGrads = backward(g)
                for (edge, ig) in zip(node.inputs, inputGrads) {
                    guard let ig else { continue }
                    switch edge {
                    case .constant:
                        continue
                    case .node(let input):
                        add(ig, to: ObjectIdentifier(input))
                    case .leaf(let leaf):
                        let key = ObjectIdentifier(leaf)
                        if grads[key] == nil { leaves.append((leaf, key)) }
                        add(ig, to: key)
                    }
                }
                node.backward = nil
                node.inputs = []
            }
            for (leaf, key) in leaves {
                if let g = grads.removeValue(forKey: key) { leaf.accumulateGrad(g, owned: owned.contains(key)) }
            }
        }
    }

    /// Every node reachable from `root`, inputs before the ops that use them.
    private static func topologicalOrder(from root: GradNode) -> [GradNode] {
        var order: [GradNode] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GradNode, Bool)] = [(root, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            guard visited.insert(ObjectIdentifier(node)).inserted else { continue }
            stack.append((node, true))
            for case .node(let input) in node.inputs where !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
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

