/// A byte-level BPE tokenizer (llama.cpp's `gpt2` vocabulary type, formats.md §2) that gives the
/// same ids as llama.cpp for the same vocabulary: training labels and masks must line up with what
/// the served model sees. Text goes through four steps:
///
/// 1. special-token literals (`<|im_start|>` …) are cut out and become their ids;
/// 2. the pre-tokenizer named by `tokenizer.ggml.pre` splits the rest into words;
/// 3. each word's UTF-8 bytes become byte-level pieces, merged by rank (BPE);
/// 4. the final pieces are looked up in the vocabulary.
///
/// Encoding is thread-safe; copies share one word cache.
public struct BPETokenizer: Sendable {
    /// The `path` of errors raised before a file is known.
    static let errorPath = "<tokenizer>"

    /// Beginning- and end-of-sequence tokens, when the vocabulary names them.
    public let bosID: Int32?
    public let eosID: Int32?
    /// Whether a prompt should start with BOS / end with EOS; `encode` itself never adds them.
    public let addBOS: Bool
    public let addEOS: Bool

    private let tokens: [String]
    private let types: [TokenType]
    private let tokenIDs: [[UInt8]: Int32]
    private let merges: MergeTable
    private let preTokenizer: PreTokenizer
    private let specials: SpecialTokenSplitter
    private let cache = WordCache()

    /// Builds a tokenizer from a vocabulary's parts, as stored under `tokenizer.ggml.*`.
    /// - Parameters:
    ///   - tokens: token strings in id order, in byte-level spelling (`Ġ` for a space).
    ///   - tokenTypes: one per token: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    ///   - merges: `"left right"` merge rules, highest priority first.
    ///   - preTokenizer: the `tokenizer.ggml.pre` name; nil selects llama.cpp's fallback rules.
    /// - Throws: `FormatError.invalid` naming the `tokenizer.ggml.*` field at fault.
    public init(tokens: [String], tokenTypes: [Int32], merges: [String], preTokenizer: String?,
                bosID: Int32?, eosID: Int32?, addBOS: Bool, addEOS: Bool) throws(FormatError) {
        try self.init(tokens: tokens, tokenTypes: tokenTypes, merges: merges,
                      preTokenizer: PreTokenizer(name: preTokenizer),
                      bosID: bosID, eosID: eosID, addBOS: addBOS, addEOS: addEOS)
    }

    init(tokens rawTokens: [String], tokenTypes: [Int32], merges: [String], preTokenizer: PreTokenizer,
         bosID: Int32?, eosID: Int32?, addBOS: Bool, addEOS: Bool) throws(FormatError) {
        func invalid(_ field: String, _ reason: String) -> FormatError {
            .invalid(path: Self.errorPath, field: field, reason: reason)
        }
        guard !rawTokens.isEmpty, rawTokens.count < Int(Int32.max) else {
            throw invalid("tokenizer.ggml.tokens", "has \(rawTokens.count) tokens")
        }
        guard tokenTypes.count == rawTokens.count else {
            throw invalid("tokenizer.ggml.token_type", "has \(tokenTypes.count) entries for \(rawTokens.count) tokens")
        }
        // llama.cpp names an empty token "[EMPTY_<id>]"; doing the same keeps ids and pieces equal.
        let tokens = rawTokens.enumerated().map { $1.isEmpty ? "[EMPTY_\($0)]" : $1 }
        var tokenIDs: [[UInt8]: Int32] = [:]
        tokenIDs.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() {
            if let earlier = tokenIDs.updateValue(Int32(id), forKey: Array(token.utf8)) {
                throw invalid("tokenizer.ggml.tokens", "token \(id) '\(token)' repeats token \(earlier)")
            }
        }
        for (field, id) in [("tokenizer.ggml.bos_token_id", bosID), ("tokenizer.ggml.eos_token_id", eosID)] {
            if let id, !(0..<Int32(tokens.count)).contains(id) {
                throw invalid(field, "\(id) is outside the \(tokens.count)-token vocabulary")
            }
        }
        if addBOS && bosID == nil {
            throw invalid("tokenizer.ggml.add_bos_token", "is true, but tokenizer.ggml.bos_token_id is not set")
        }
        if addEOS && eosID == nil {
            throw invalid("tokenizer.ggml.add_eos_token", "is true, but tokenizer.ggml.eos_token_id is not set")
        }

        self.tokens = tokens
        self.types = tokenTypes.map(TokenType.init(fileValue:))
        self.tokenIDs = tokenIDs
        self.merges = try MergeTable(merges: merges, tokenIDs: tokenIDs, vocabularySize: tokens.count)
        self.preTokenizer = preTokenizer
        self.specials = SpecialTokenSplitter(tokens: tokens, types: types)
        self.bosID = bosID
        self.eosID = eosID
        self.addBOS = addBOS
        self.addEOS = addEOS
    }

    /// Number of tokens in the vocabulary.
    public var vocabularySize: Int { tokens.count }

    /// The id of a token given in its vocabulary spelling (`"Ġthe"`, `"<|im_end|>"`), if any.
    public func id(of token: String) -> Int32? { tokenIDs[Array(token.utf8)] }

    /// The ids of `text`, without BOS or EOS (add them from `addBOS` / `addEOS` where a prompt
    /// starts or ends). With `parseSpecial` the spellings of control, user-defined and unknown-type
    /// tokens (e.g. `<|im_start|>`) become their ids; without it they are ordinary text, except
    /// user-defined tokens, which llama.cpp always cuts out.
    public func encode(_ text: String, parseSpecial: Bool = true) -> [Int32] {
        let bytes = Array(text.utf8)
        var ids: [Int32] = []
        ids.reserveCapacity(bytes.count / 3)
        var merger = WordMerger()
        for fragment in specials.split(bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case .token(let id): ids.append(id)
            case .text(let range): encodePlain(bytes[range], into: &ids, merger: &merger)
            }
        }
        return ids
    }

    /// The text of `ids`: their bytes joined, then read as UTF-8 (invalid sequences, e.g. a
    /// character cut between two tokens at the end, become U+FFFD).
    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        for id in ids { bytes.append(contentsOf: self.bytes(of: id)) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The raw bytes of one token, for streaming output where a character may span tokens:
    /// a normal token's byte-level spelling undone, a special token's literal text, a byte token's
    /// byte; nothing for unused tokens and for ids outside the vocabulary. As in llama.cpp, except
    /// that a normal token's code point outside the byte-level table passes through as UTF-8
    /// (llama.cpp writes an "[UNK_BYTE_…]" marker).
    public func bytes(of id: Int32) -> [UInt8] {
        guard id >= 0, Int(id) < tokens.count else { return [] }
        let token = tokens[Int(id)]
        switch types[Int(id)] {
        case .control, .userDefined, .unknown:
            return Array(token.utf8)
        case .normal:
            var bytes: [UInt8] = []
            for scalar in token.unicodeScalars {
                if let byte = ByteLevel.byte(for: scalar.value) {
                    bytes.append(byte)
                } else {
                    bytes.append(contentsOf: String(scalar).utf8)
                }
            }
            return bytes
        case .byte:
            // Spelled "<0xXX>".
            guard token.utf8.count == 6, token.hasPrefix("<0x"), token.hasSuffix(">"),
                  let byte = UInt8(token.dropFirst(3).prefix(2), radix: 16) else { return [] }
            return [byte]
        case .unused, .undefined:
            return []
        }
    }

    // MARK: plain text

    /// Encodes text holding no special tokens: pre-tokenize, then BPE each word.
    private func encodePlain(_ bytes: ArraySlice<UInt8>, into ids: inout [Int32], merger: inout WordMerger) {
        let (scalars, starts) = Self.decodeScalars(bytes)
        for word in preTokenizer.words(in: ClassifiedText(scalars: scalars)) {
            let wordBytes = bytes[starts[word.lowerBound]..<starts[word.upperBound]]
            let key = Array(wordBytes)
            if let cached = cache.ids(for: key) {
                ids.append(contentsOf: cached)
                continue
            }
            let wordIDs = encodeWord(wordBytes, merger: &merger)
            cache.store(wordIDs, for: key)
            ids.append(contentsOf: wordIDs)
        }
    }

    /// The ids of one word.
    private func encodeWord(_ word: ArraySlice<UInt8>, merger: inout WordMerger) -> [Int32] {
        if preTokenizer.ignoresMerges, let id = tokenIDs[ByteLevel.spell(word)] { return [id] }
        var ids: [Int32] = []
        for piece in merger.merge(word, using: merges) {
            if Int(piece) < tokens.count {
                ids.append(piece)
            } else {
                // A merge produced a piece the vocabulary lacks: llama.cpp falls back to the
                // piece's single bytes that are tokens and drops the rest.
                for byte in merges.extraPieces[Int(piece) - tokens.count] {
                    if let id = tokenIDs[[byte]] { ids.append(id) }
                }
            }
        }
        return ids
    }

    /// The code points of valid UTF-8 (a Swift string cut at special-token boundaries, which fall
    /// between characters) and the byte offset where each starts, plus the end offset.
    private static func decodeScalars(_ bytes: ArraySlice<UInt8>) -> (scalars: [UInt32], starts: [Int]) {
        var scalars: [UInt32] = [], starts: [Int] = []
        scalars.reserveCapacity(bytes.count)
        starts.reserveCapacity(bytes.count + 1)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let lead = bytes[index]
            let length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
            var value = length == 1 ? UInt32(lead) : UInt32(lead) & (0x7F >> UInt32(length))
            for k in 1..<length { value = value << 6 | UInt32(bytes[index + k] & 0x3F) }
            scalars.append(value)
            starts.append(index)
            index += length
        }
        starts.append(bytes.endIndex)
        return (scalars, starts)
    }
}
