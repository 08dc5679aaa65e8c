/// A training batch: `rows × length` tokens with, per token, the next-token target (−100 where
/// nothing is scored), the position inside its own example, and the example (segment) it
/// belongs to, so attention never crosses from one packed example into another.
public struct Batch: Sendable, Equatable {
    public var rows: Int
    public var length: Int
    public var tokens: [Int32]
    /// `targets[i]` is the id token i should predict, or −100.
    public var targets: [Int32]
    public var positions: [Int32]
    /// Distinct ids for distinct examples (and for padding) within a row.
    public var segments: [Int32]

    public static let ignored: Int32 = -100

    /// Tokens scored by the loss.
    public var targetCount: Int { targets.reduce(0) { $0 + ($1 == Self.ignored ? 0 : 1) } }
    /// Tokens that are not padding.
    public var realTokens: Int

    public init(rows: Int, length: Int, tokens: [Int32], targets: [Int32], positions: [Int32], segments: [Int32], realTokens: Int) {
        precondition([tokens.count, targets.count, positions.count, segments.count].allSatisfy { $0 == rows * length },
                     "a batch of \(rows)×\(length) needs that many tokens, targets, positions and segments")
        self.rows = rows
        self.length = length
        self.tokens = tokens
        self.targets = targets
        self.positions = positions
        self.segments = segments
        self.realTokens = realTokens
    }
}

/// Lays examples out in rows. With packing, examples are placed in order into rows of
/// `length` tokens (the next example starts a new row when it does not fit), positions restart
/// at 0 for each example and each example is its own attention segment. Without packing, each
/// example is a row of its own, padded to the longest in the batch. Padding is never scored and
/// never attended to by real tokens.
public struct Packer: Sendable {
    public let length: Int
    public let packing: Bool
    public let padToken: Int32

    public init(length: Int, packing: Bool, padToken: Int32) {
        self.length = length
        self.packing = packing
        self.padToken = padToken
    }

    /// Rows (each a list of examples) in order.
    public func rows(_ examples: [TokenizedExample]) -> [[TokenizedExample]] {
        guard packing else { return examples.map { [$0] } }
        var rows: [[TokenizedExample]] = []
        var current: [TokenizedExample] = []
        var used = 0
        for e in examples {
            if used + e.tokens.count > length && !current.isEmpty {
                rows.append(current)
                current = []
                used = 0
            }
            current.append(e)
            used += e.tokens.count
        }
        if !current.isEmpty { rows.append(current) }
        return rows
    }

    /// One batch from rows: packed rows are `length` long; unpacked rows are as long as the
    /// longest example among them.
    public func batch(_ rows: [[TokenizedExample]]) -> Batch {
        let width = packing ? length : rows.map { $0.reduce(0) { $0 + $1.tokens.count } }.max() ?? 1
        var tokens: [Int32] = [], targets: [Int32] = [], positions: [Int32] = [], segments: [Int32] = []
        var realTokens = 0
        tokens.reserveCapacity(rows.count * width)
        for row in rows {
            var segment: Int32 = 0
            var used = 0
            for e in row {
                for i in 0..<e.tokens.count {
                    tokens.append(e.tokens[i])
                    let next = i + 1
                    targets.append(next < e.tokens.count && e.isTarget[next] ? e.tokens[next] : Batch.ignored)
                    positions.append(Int32(i))
                    segments.append(segment)
                }
                used += e.tokens.count
                segment += 1
            }
            realTokens += used
            for i in 0..<(width - used) {
                tokens.append(padToken)
                targets.append(Batch.ignored)
                positions.append(Int32(i))
                segments.append(segment)
            }
        }
        return Batch(rows: rows.count, length: width, tokens: tokens, targets: targets, positions: positions,
                     segments: segments, realTokens: realTokens)
    }
}
