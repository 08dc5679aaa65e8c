import GraftFormats
import GraftTensor

/// The shape of a Llama-family model (formats.md §7.1), read from GGUF metadata.
public struct LlamaConfig: Sendable, Equatable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var rmsNormEps: Float
    public var ropeTheta: Float
    public var contextLength: Int
    /// GGUF `llama` files store Q/K rows permuted for adjacent-pair RoPE (formats.md §7.3).
    public var ropeLayout: RoPELayout

    public init(vocabularySize: Int, hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int,
                kvHeadCount: Int, headDim: Int, rmsNormEps: Float, ropeTheta: Float, contextLength: Int,
                ropeLayout: RoPELayout) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.contextLength = contextLength
        self.ropeLayout = ropeLayout
    }

    /// Reads `<arch>.*` keys; only the `llama` architecture is supported.
    public init(gguf: GGUFFile) throws(FormatError) {
        let arch = try gguf.string("general.architecture")
        guard arch == "llama" else {
            throw .invalid(path: gguf.path, field: "general.architecture",
                           reason: "architecture '\(arch)' is not supported (Graft runs 'llama')")
        }
        func optionalInt(_ key: String) throws(FormatError) -> Int? {
            gguf.metadata[key] == nil ? nil : try gguf.int(key)
        }
        hiddenSize = try gguf.int("llama.embedding_length")
        intermediateSize = try gguf.int("llama.feed_forward_length")
        layerCount = try gguf.int("llama.block_count")
        headCount = try gguf.int("llama.attention.head_count")
        kvHeadCount = try optionalInt("llama.attention.head_count_kv") ?? headCount
        headDim = try optionalInt("llama.rope.dimension_count") ?? (headCount > 0 ? hiddenSize / headCount : 0)
        rmsNormEps = try gguf.float("llama.attention.layer_norm_rms_epsilon")
        ropeTheta = gguf.metadata["llama.rope.freq_base"] == nil ? 10000 : try gguf.float("llama.rope.freq_base")
        contextLength = try optionalInt("llama.context_length") ?? 2048
        if let v = try optionalInt("llama.vocab_size") { vocabularySize = v }
        else { vocabularySize = try gguf.stringArray("tokenizer.ggml.tokens").count }
        ropeLayout = .interleaved
        for (name, v) in [("embedding_length", hiddenSize), ("block_count", layerCount), ("attention.head_count", headCount),
                          ("attention.head_count_kv", kvHeadCount), ("rope.dimension_count", headDim), ("vocab_size", vocabularySize),
                          ("context_length", contextLength)]
        where v <= 0 {
            throw .invalid(path: gguf.path, field: "llama.\(name)", reason: "must be positive, found \(v)")
        }
        guard headCount % kvHeadCount == 0 else {
            throw .invalid(path: gguf.path, field: "llama.attention.head_count_kv",
                           reason: "\(headCount) query heads are not a multiple of \(kvHeadCount) KV heads")
        }
        guard headDim % 2 == 0 else { throw .invalid(path: gguf.path, field: "llama.rope.dimension_count", reason: "head size \(headDim) is odd") }
    }
}
