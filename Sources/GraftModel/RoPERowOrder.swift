/// The row order of Q/K projections in the two RoPE layouts (formats.md §7.3). Hugging Face
/// rotates halves (pairs (i, i + D/2) of each head); GGUF files store the rows permuted so that
/// pairs are adjacent (2i, 2i + 1), as llama.cpp's converter does. Anything indexed by output
/// row of q_proj/k_proj (a LoRA B matrix, a DoRA magnitude) moves with that permutation.
public enum RoPERowOrder {
    /// `p` with GGUF row `j` = Hugging Face row `p[j]`, for `heads` heads of `headDim` rows.
    public static func ggufFromHF(heads: Int, headDim: Int) -> [Int] {
        let half = headDim / 2
        var p = [Int](repeating: 0, count: heads * headDim)
        for h in 0..<heads {
            for i in 0..<half {
                for s in 0..<2 { p[h * headDim + 2 * i + s] = h * headDim + s * half + i }
            }
        }
        return p
    }

    /// The inverse: Hugging Face row `j` = GGUF row `q[j]`.
    public static func hfFromGGUF(heads: Int, headDim: Int) -> [Int] {
        let p = ggufFromHF(heads: heads, headDim: headDim)
        var q = p
        for (j, source) in p.enumerated() { q[source] = j }
        return q
    }
}
