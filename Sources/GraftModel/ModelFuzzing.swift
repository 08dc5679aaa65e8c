import GraftFormats
import GraftTensor

/// What the GGUF fuzzer runs on each mutated file: parse it, and when it parses, build the
/// config, weights and tokenizer, then run one forward pass on a few tokens. Any of these may
/// throw; none may crash or read outside the buffer.
public enum ModelFuzzing {
    public enum Outcome: Sendable { case rejected, loaded, ran }

    public static func exercise(_ bytes: UnsafeRawBufferPointer, runForward: Bool) -> Outcome {
        let mapping = MappedFile(borrowing: bytes, path: "fuzz.gguf")
        guard let file = try? GGUFFile(mapping: mapping) else { return .rejected }
        _ = try? BPETokenizer(gguf: file)
        guard let model = try? LlamaModel(gguf: file) else { return .loaded }
        guard runForward, model.config.hiddenSize * model.config.layerCount <= 1 << 16 else { return .loaded }
        let tokens = (0..<3).map { Int32($0 % model.config.vocabularySize) }
        _ = withNoGrad { model.logits(model.forward(tokens: tokens), lastOnly: true) }
        return .ran
    }
}
