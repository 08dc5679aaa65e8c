import GraftTensor

/// The random stream behind every adapter's dropout, shared by the whole model so that one
/// saved state (in a checkpoint) fixes all masks of the rest of a run. `isTraining` off (eval,
/// generation) makes dropout the identity.
public final class DropoutSource: @unchecked Sendable {
    public var generator: RandomGenerator
    public var isTraining = false

    public init(seed: UInt64) { generator = RandomGenerator(seed: seed) }
}
