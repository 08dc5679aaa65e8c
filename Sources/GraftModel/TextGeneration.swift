import GraftTensor

/// Token-by-token generation with a KV cache: the prompt is prefilled in one forward pass, then
/// each new token is decoded from the cache. `onToken` sees every token as it is chosen and may
/// stop the generation by returning false.
public struct TextGeneration {
    public let model: LlamaModel
    public var stopTokens: Set<Int32>

    public init(model: LlamaModel, stopTokens: Set<Int32>) {
        self.model = model
        self.stopTokens = stopTokens
    }

    /// Generated token ids (without the prompt, including a stop token if one ended it).
    public func generate(prompt: [Int32], maxTokens: Int, sampler: inout Sampler,
                         onToken: (Int32) -> Bool = { _ in true }) -> [Int32] {
        precondition(!prompt.isEmpty, "generation needs a non-empty prompt")
        let cache = KVCache(config: model.config, capacity: min(model.config.contextLength, prompt.count + maxTokens))
        var history = prompt
        var generated: [Int32] = []
        var input = prompt
        return withNoGrad {
            while generated.count < maxTokens && cache.remaining >= input.count {
                let logits = model.logits(model.forward(tokens: input, cache: cache), lastOnly: true)
                let next = logits.withUnsafeBufferPointer { sampler.sample(logits: $0, history: history) }
                generated.append(next)
                history.append(next)
                if stopTokens.contains(next) || !onToken(next) { break }
                input = [next]
            }
            return generated
        }
    }
}
