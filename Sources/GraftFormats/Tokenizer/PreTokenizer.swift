/// How a vocabulary's `tokenizer.ggml.pre` name cuts text into words before BPE (formats.md §2.2):
/// a list of regexes applied in turn, each splitting every segment the previous ones left, plus
/// the flags llama.cpp attaches to the name.
struct PreTokenizer: Sendable {
    /// The regex list, in order.
    let rules: [SplitRule]
    /// Llama-3 family: a word that is itself a vocabulary token is emitted whole, unmerged.
    let ignoresMerges: Bool
    /// Whether llama.cpp adds BOS for this name when the file has no `tokenizer.ggml.add_bos_token`.
    let addsBOSByDefault: Bool

    /// The llama.cpp names this pre-tokenizer reads, each group one llama.cpp pre-tokenizer type.
    static let supportedNames: [String: Kind] = {
        var names: [String: Kind] = [:]
        for name in ["smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"] {
            names[name] = .smollm
        }
        // jina-v2-de/-es/-code also use GPT-2's regex, but llama.cpp gives their <mask> token an
        // lstrip attribute this tokenizer does not model, so they are left out.
        for name in ["gpt-2", "phi-2", "roberta-bpe", "jina-es", "jina-de", "jina-v1-en", "gigachat",
                     "mpt", "olmo", "jais"] {
            names[name] = .gpt2
        }
        for name in ["llama3", "llama-v3", "llama-bpe", "falcon3"] { names[name] = .llama3 }
        for name in ["qwen2", "deepseek-r1-qwen", "megrez"] { names[name] = .qwen2 }
        return names
    }()

    enum Kind: Sendable {
        case smollm, gpt2, llama3, qwen2
        /// No `tokenizer.ggml.pre` at all: llama.cpp's fallback list (it warns of degraded output).
        case fallback
    }

    /// The pre-tokenizer for a `tokenizer.ggml.pre` value; nil means the key is absent.
    init(name: String?) throws(FormatError) {
        let kind: Kind
        if let name {
            guard let known = Self.supportedNames[name] else {
                throw .invalid(path: BPETokenizer.errorPath, field: "tokenizer.ggml.pre",
                               reason: "unknown pre-tokenizer '\(name)'; supported: "
                                   + Self.supportedNames.keys.sorted().joined(separator: ", "))
            }
            kind = known
        } else {
            kind = .fallback
        }
        self.init(kind: kind)
    }

    init(kind: Kind) {
        switch kind {
        case .smollm: rules = [.isolatedNumbers, .gpt2]
        case .gpt2: rules = [.gpt2]
        case .llama3: rules = [.llama3(maxDigits: 3)]
        case .qwen2: rules = [.llama3(maxDigits: 1)]
        case .fallback: rules = [.punctuationRuns, .gpt2, .numberRuns, .asciiDigitTriples]
        }
        ignoresMerges = kind == .llama3
        addsBOSByDefault = kind == .llama3
    }

    /// The words of `text`, as code point ranges that tile it in order.
    func words(in text: ClassifiedText) -> [Range<Int>] {
        var segments = text.scalars.isEmpty ? [] : [0..<text.scalars.count]
        var pieces: [Range<Int>] = []
        for rule in rules {
            pieces.removeAll(keepingCapacity: true)
            for segment in segments { rule.split(segment, of: text, into: &pieces) }
            swap(&segments, &pieces)
        }
        return segments
    }
}
