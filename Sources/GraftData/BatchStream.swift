import GraftTensor

/// The endless, reproducible sequence of training batches: each epoch shuffles the examples
/// with a generator derived from the seed and the epoch number, packs them into rows and cuts
/// the rows into batches. Where the stream stands is two integers (`Position`), which is all a
/// checkpoint needs to resume on the exact next batch.
public struct BatchStream: Sendable {
    public struct Position: Sendable, Equatable, Codable {
        public var epoch: Int
        public var batch: Int
        public init(epoch: Int = 0, batch: Int = 0) {
            self.epoch = epoch
            self.batch = batch
        }
    }

    public let examples: [TokenizedExample]
    public let packer: Packer
    public let batchSize: Int
    public let seed: UInt64
    public private(set) var position = Position()
    private var epochBatches: [Batch] = []
    private var loadedEpoch = -1

    public init(examples: [TokenizedExample], packer: Packer, batchSize: Int, seed: UInt64) {
        precondition(!examples.isEmpty, "a batch stream needs examples")
        self.examples = examples
        self.packer = packer
        self.batchSize = batchSize
        self.seed = seed
    }

    /// Batches of one epoch, in order (shuffled by seed and epoch; the last may be smaller).
    public func batches(epoch: Int) -> [Batch] {
        var order = Array(examples.indices)
        var g = RandomGenerator(seed: seed &+ 0x5EED_0000 &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
        order.shuffle(using: &g)
        let rows = packer.rows(order.map { examples[$0] })
        return stride(from: 0, to: rows.count, by: batchSize).map {
            packer.batch(Array(rows[$0..<min($0 + batchSize, rows.count)]))
        }
    }

    /// The next batch, advancing the position (into the next epoch when one is used up).
    public mutating func next() -> Batch {
        if loadedEpoch != position.epoch {
            epochBatches = batches(epoch: position.epoch)
            loadedEpoch = position.epoch
        }
        let b = epochBatches[position.batch]
        position.batch += 1
        if position.batch == epochBatches.count { position = Position(epoch: position.epoch + 1, batch: 0) }
        return b
    }

    /// Continues from a saved position.
    public mutating func seek(to p: Position) {
        position = p
    }
}
