/// BPE merge ranks (formats.md §2.5) over pieces named by integer ids, so merging never builds or
/// hashes strings. A piece id below the vocabulary size is that token's id; pieces that occur in
/// merges or as a single byte but are not tokens get ids from the vocabulary size up, which keeps
/// llama.cpp's behaviour of merging by string and only then looking the result up.
struct MergeTable: Sendable {
    struct Merge: Sendable {
        /// Index of the merge in `tokenizer.ggml.merges`; lower merges first.
        let rank: Int32
        /// The piece the pair becomes.
        let result: Int32
    }

    let vocabularySize: Int
    /// UTF-8 of the pieces that are not tokens, at index `id - vocabularySize`.
    let extraPieces: [[UInt8]]
    /// The piece each byte starts as: its `ByteLevel` code point.
    let byteSymbols: [Int32]
    private let merges: [UInt64: Merge]

    /// - Parameters:
    ///   - merges: `"left right"` strings, split at the first space after the first byte (so a
    ///     left piece may itself start with a space-like character), earliest first.
    ///   - tokenIDs: every token's UTF-8 and id.
    init(merges mergeList: [String], tokenIDs: [[UInt8]: Int32], vocabularySize: Int) throws(FormatError) {
        var extraIDs: [[UInt8]: Int32] = [:]
        var extraPieces: [[UInt8]] = []
        func intern(_ piece: [UInt8]) -> Int32 {
            if let id = tokenIDs[piece] ?? extraIDs[piece] { return id }
            let id = Int32(vocabularySize + extraPieces.count)
            extraIDs[piece] = id
            extraPieces.append(piece)
            return id
        }

        var merges: [UInt64: Merge] = [:]
        merges.reserveCapacity(mergeList.count)
        for (rank, entry) in mergeList.enumerated() {
            let bytes = Array(entry.utf8)
            guard let split = bytes.dropFirst().firstIndex(of: 0x20) else {
                throw .invalid(path: BPETokenizer.errorPath, field: "tokenizer.ggml.merges",
                               reason: "entry \(rank) '\(entry)' is not two pieces separated by a space")
            }
            let left = Array(bytes[..<split]), right = Array(bytes[(split + 1)...])
            // An empty right piece can never be adjacent to anything; llama.cpp stores it unused.
            guard !right.isEmpty else { continue }
            let key = Self.key(intern(left), intern(right))
            if merges[key] == nil {   // the first of duplicate entries wins, as in llama.cpp
                merges[key] = Merge(rank: Int32(rank), result: intern(left + right))
            }
        }
        self.byteSymbols = ByteLevel.scalarForByte.map { scalar in
            intern(Array(String(Unicode.Scalar(scalar)!).utf8))
        }
        self.merges = merges
        self.extraPieces = extraPieces
        self.vocabularySize = vocabularySize
    }

    /// The merge of two adjacent pieces, if the list has one.
    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> Merge? { merges[Self.key(left, right)] }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }
}
