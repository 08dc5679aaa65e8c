import GraftFormats

/// An example as token ids, with which tokens the loss is taken on: `isTarget[i]` means token
/// i is predicted (from tokens before it of the same example) and scored.
public struct TokenizedExample: Sendable, Equatable {
    public var tokens: [Int32]
    public var isTarget: [Bool]

    public init(tokens: [Int32], isTarget: [Bool]) {
        precondition(tokens.count == isTarget.count)
        self.tokens = tokens
        self.isTarget = isTarget
    }

    public var targetCount: Int { isTarget.dropFirst().reduce(0) { $0 + ($1 ? 1 : 0) } }
}

/// Turns examples into tokens with the model's tokenizer and chat template:
/// - `text`: the text, then EOS; every token is a target.
/// - `prompt/completion`: a user turn and an assistant turn rendered with the chat template (as
///   mlx-lm does; plain concatenation when the model has no template).
/// - `messages`: the conversation rendered with the chat template.
/// With `maskPrompt`, only completion / assistant tokens (with the template's end-of-turn) are
/// targets. Examples longer than `maxLength` tokens are cut to it, and counted.
public struct ExampleEncoder {
    public let tokenizer: BPETokenizer
    public let template: ChatTemplate?
    public let maskPrompt: Bool
    public let maxLength: Int

    public init(tokenizer: BPETokenizer, template: ChatTemplate?, maskPrompt: Bool, maxLength: Int) {
        self.tokenizer = tokenizer
        self.template = template
        self.maskPrompt = maskPrompt
        self.maxLength = maxLength
    }

    /// What encoding a file produced.
    public struct Summary: Sendable, Equatable {
        public var examples = 0
        public var tokens = 0
        public var targets = 0
        public var truncated = 0
        public var longest = 0
        public init() {}
    }

    public func encode(_ dataset: JSONLDataset) throws(DatasetError) -> (examples: [TokenizedExample], summary: Summary) {
        var out: [TokenizedExample] = []
        var summary = Summary()
        for (example, line) in zip(dataset.examples, dataset.lines) {
            var e = try encode(example, path: dataset.path, line: line)
            summary.longest = max(summary.longest, e.tokens.count)
            if e.tokens.count > maxLength {
                summary.truncated += 1
                e.tokens.removeSubrange(maxLength...)
                e.isTarget.removeSubrange(maxLength...)
            }
            guard e.targetCount > 0 else {
                throw .malformed(path: dataset.path, line: line,
                                 reason: "no tokens left to learn from (after the prompt mask and truncation to \(maxLength) tokens)")
            }
            summary.examples += 1
            summary.tokens += e.tokens.count
            summary.targets += e.targetCount
            out.append(e)
        }
        return (out, summary)
    }

    public func encode(_ example: Example, path: String, line: Int) throws(DatasetError) -> TokenizedExample {
        switch example {
        case .text(let text):
            var tokens = tokenizer.encode(text, parseSpecial: false)
            if let eos = tokenizer.eosID { tokens.append(eos) }
            if tokenizer.addBOS, let bos = tokenizer.bosID { tokens.insert(bos, at: 0) }
            return TokenizedExample(tokens: tokens, isTarget: [Bool](repeating: true, count: tokens.count))
        case .completion(let prompt, let completion):
            if template == nil {
                var p = tokenizer.encode(prompt, parseSpecial: false)
                if tokenizer.addBOS, let bos = tokenizer.bosID { p.insert(bos, at: 0) }
                var c = tokenizer.encode(completion, parseSpecial: false)
                if let eos = tokenizer.eosID { c.append(eos) }
                return TokenizedExample(tokens: p + c, isTarget: [Bool](repeating: !maskPrompt, count: p.count)
                                        + [Bool](repeating: true, count: c.count))
            }
            return try encodeChat([ChatMessage(role: "user", content: prompt), ChatMessage(role: "assistant", content: completion)],
                                  path: path, line: line)
        case .chat(let messages):
            return try encodeChat(messages, path: path, line: line)
        }
    }

    /// Renders the conversation one turn at a time: each assistant turn is the text between
    /// the render of the turns before it (with the generation prompt) and the render that
    /// includes it. Pieces are tokenized separately, which equals tokenizing the whole when the
    /// template separates turns with special tokens (ChatML and the families in formats.md §8).
    func encodeChat(_ messages: [ChatMessage], path: String, line: Int) throws(DatasetError) -> TokenizedExample {
        guard let template else { throw .noChatTemplate(path: path) }
        let bos = tokenizer.bosID.map { tokenizer.decode([$0]) } ?? ""
        let eos = tokenizer.eosID.map { tokenizer.decode([$0]) } ?? ""
        func render(_ m: ArraySlice<ChatMessage>, generationPrompt: Bool) throws(DatasetError) -> String {
            do { return try template.render(messages: Array(m), addGenerationPrompt: generationPrompt, bosToken: bos, eosToken: eos) }
            catch { throw .template(path: path, line: line, reason: "\(error)") }
        }
        var tokens: [Int32] = []
        var isTarget: [Bool] = []
        var rendered = ""
        func add(_ text: String, target: Bool) throws(DatasetError) {
            guard text.hasPrefix(rendered) else {
                throw .template(path: path, line: line, reason: "the template does not render the conversation turn by turn (a later render changes earlier text)")
            }
            let piece = String(text.dropFirst(rendered.count))
            let ids = tokenizer.encode(piece, parseSpecial: true)
            tokens += ids
            isTarget += [Bool](repeating: target, count: ids.count)
            rendered = text
        }
        for (i, message) in messages.enumerated() where message.role == "assistant" {
            try add(try render(messages[..<i], generationPrompt: true), target: !maskPrompt)
            try add(try render(messages[...i], generationPrompt: false), target: true)
        }
        if messages.last?.role != "assistant" { try add(try render(messages[...], generationPrompt: false), target: !maskPrompt) }
        return TokenizedExample(tokens: tokens, isTarget: isTarget)
    }
}
