import GraftFormats
import GraftQuant
import GraftTensor

/// The weights of one decoder block.
public struct LlamaBlockWeights {
    public var attentionNorm: Tensor
    public var q: any LinearLayer
    public var k: any LinearLayer
    public var v: any LinearLayer
    public var o: any LinearLayer
    public var mlpNorm: Tensor
    public var gate: any LinearLayer
    public var up: any LinearLayer
    public var down: any LinearLayer
}

/// All weights of a Llama model. Matrices stay in the GGUF file's blocks (mapped, not copied);
/// norms are small F32 vectors.
public struct LlamaWeights {
    public var embedding: QuantizedMatrix
    public var blocks: [LlamaBlockWeights]
    public var outputNorm: Tensor
    /// The output projection; the embedding when the model ties them (no `output.weight`).
    public var output: QuantizedMatrix

    /// Loads the tensors named as in formats.md §1.8 and checks every shape against `config`.
    public init(gguf: GGUFFile, config: LlamaConfig) throws(FormatError) {
        func matrix(_ name: String, rows: Int, cols: Int) throws(FormatError) -> QuantizedMatrix {
            guard let info = gguf.tensor(name) else { throw .missing(path: gguf.path, name: name) }
            guard info.dims == [cols, rows] || (rows == 1 && info.dims == [cols]) else {
                throw .invalid(path: gguf.path, field: name, reason: "shape \(info.shape) but the config needs [\(rows), \(cols)]")
            }
            let data = try gguf.tensorData(name)
            return QuantizedMatrix(type: info.type, rows: rows, cols: cols, data: data.baseAddress!, owner: gguf.mapping)
        }
        func vector(_ name: String, _ n: Int) throws(FormatError) -> Tensor {
            let m = try matrix(name, rows: 1, cols: n)
            return m.dequantized().reshaped([n])
        }
        let (d, ff, hd) = (config.hiddenSize, config.intermediateSize, config.headDim)
        embedding = try matrix("token_embd.weight", rows: config.vocabularySize, cols: d)
        var blocks: [LlamaBlockWeights] = []
        for i in 0..<config.layerCount {
            let p = "blk.\(i)."
            blocks.append(LlamaBlockWeights(
                attentionNorm: try vector(p + "attn_norm.weight", d),
                q: FrozenLinear(try matrix(p + "attn_q.weight", rows: config.headCount * hd, cols: d)),
                k: FrozenLinear(try matrix(p + "attn_k.weight", rows: config.kvHeadCount * hd, cols: d)),
                v: FrozenLinear(try matrix(p + "attn_v.weight", rows: config.kvHeadCount * hd, cols: d)),
                o: FrozenLinear(try matrix(p + "attn_output.weight", rows: d, cols: config.headCount * hd)),
                mlpNorm: try vector(p + "ffn_norm.weight", d),
                gate: FrozenLinear(try matrix(p + "ffn_gate.weight", rows: ff, cols: d)),
                up: FrozenLinear(try matrix(p + "ffn_up.weight", rows: ff, cols: d)),
                down: FrozenLinear(try matrix(p + "ffn_down.weight", rows: d, cols: ff))))
        }
        self.blocks = blocks
        outputNorm = try vector("output_norm.weight", d)
        output = gguf.tensor("output.weight") == nil ? embedding
            : try matrix("output.weight", rows: config.vocabularySize, cols: d)
    }
}
