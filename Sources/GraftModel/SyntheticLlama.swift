import GraftFormats
import GraftQuant
import GraftTensor

/// Tiny Llama models with random weights, written as real GGUF files: what tests and the fuzzer
/// use instead of a downloaded model. The tokenizer is byte-level with one token per byte plus
/// a few merges and ChatML special tokens, so every text encodes.
public enum SyntheticLlama {
    public struct Options: Sendable {
        public var hiddenSize = 64
        public var intermediateSize = 96
        public var layers = 2
        public var heads = 4
        public var kvHeads = 2
        public var matrixType: GGMLType = .q8_0
        public var seed: UInt64 = 0
        public init() {}
    }

    /// Byte tokens are "<0xNN>"-free: each byte's bytes_to_unicode character, as GPT-2 vocabularies store them.
    public static func writer(_ o: Options = Options()) -> GGUFWriter {
        var rng = RandomGenerator(seed: o.seed)
        let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        let byteTokens = (0..<256).map { byteToUnicode(UInt8($0)) }
        let merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a"]
        let merged = merges.map { $0.replacingOccurrences(of: " ", with: "") }
        let tokens = specials + byteTokens + merged
        let vocab = tokens.count
        let hd = o.hiddenSize / o.heads
        var w = GGUFWriter()
        w.add("general.architecture", .string("llama"))
        w.add("general.name", .string("synthetic-llama"))
        w.add("llama.block_count", .uint32(UInt32(o.layers)))
        w.add("llama.context_length", .uint32(256))
        w.add("llama.embedding_length", .uint32(UInt32(o.hiddenSize)))
        w.add("llama.feed_forward_length", .uint32(UInt32(o.intermediateSize)))
        w.add("llama.attention.head_count", .uint32(UInt32(o.heads)))
        w.add("llama.attention.head_count_kv", .uint32(UInt32(o.kvHeads)))
        w.add("llama.rope.freq_base", .float32(10000))
        w.add("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        w.add("llama.rope.dimension_count", .uint32(UInt32(hd)))
        w.add("llama.vocab_size", .uint32(UInt32(vocab)))
        w.add("tokenizer.ggml.model", .string("gpt2"))
        w.add("tokenizer.ggml.pre", .string("smollm"))
        w.add("tokenizer.ggml.tokens", .array(tokens.map { .string($0) }))
        w.add("tokenizer.ggml.token_type", .array(tokens.indices.map { .int32($0 < specials.count ? 3 : 1) }))
        w.add("tokenizer.ggml.merges", .array(merges.map { .string($0) }))
        w.add("tokenizer.ggml.bos_token_id", .uint32(1))
        w.add("tokenizer.ggml.eos_token_id", .uint32(2))
        w.add("tokenizer.ggml.add_bos_token", .bool(false))
        w.add("tokenizer.chat_template", .string("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"))

        func matrix(_ name: String, rows: Int, cols: Int, std: Float) {
            let values = (0..<(rows * cols)).map { _ in rng.nextNormal() * std }
            w.addTensor(name, type: o.matrixType, dims: [cols, rows], bytes: Quantize.row(o.matrixType, values))
        }
        func norm(_ name: String, _ n: Int) {
            w.addTensor(name, shape: [n], values: (0..<n).map { _ in 1 + 0.1 * rng.nextNormal() })
        }
        let d = o.hiddenSize
        matrix("token_embd.weight", rows: vocab, cols: d, std: 0.5)
        for i in 0..<o.layers {
            let p = "blk.\(i)."
            norm(p + "attn_norm.weight", d)
            matrix(p + "attn_q.weight", rows: o.heads * hd, cols: d, std: 0.15)
            matrix(p + "attn_k.weight", rows: o.kvHeads * hd, cols: d, std: 0.15)
            matrix(p + "attn_v.weight", rows: o.kvHeads * hd, cols: d, std: 0.15)
            matrix(p + "attn_output.weight", rows: d, cols: o.heads * hd, std: 0.15)
            norm(p + "ffn_norm.weight", d)
            matrix(p + "ffn_gate.weight", rows: o.intermediateSize, cols: d, std: 0.15)
            matrix(p + "ffn_up.weight", rows: o.intermediateSize, cols: d, std: 0.15)
            matrix(p + "ffn_down.weight", rows: d, cols: o.intermediateSize, std: 0.1)
        }
        norm("output_norm.weight", d)
        return w
    }

    /// GPT-2's bytes_to_unicode (formats.md §2.4).
    static func byteToUnicode(_ b: UInt8) -> String {
        let direct = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
        if direct { return String(UnicodeScalar(b)) }
        var n = 0
        for x in 0..<Int(b) {
            let u = UInt8(x)
            if !((0x21...0x7E).contains(u) || (0xA1...0xAC).contains(u) || (0xAE...0xFF).contains(u)) { n += 1 }
        }
        return String(UnicodeScalar(UInt32(256 + n))!)
    }
}
