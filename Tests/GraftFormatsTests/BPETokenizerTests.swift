import Foundation
@testable import GraftFormats
import Testing
import GraftTestSupport

/// The SmolLM2 vocabulary, read once for all tests (`make test` fetches the model first).
private enum SmolLM2 {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

    static let loaded = Result { () throws(FormatError) -> (GGUFFile, BPETokenizer) in
        let file = try GGUFFile(path: path)
        return (file, try BPETokenizer(gguf: file))
    }

    static var tokenizer: BPETokenizer { get throws { try loaded.get().1 } }

    /// The same vocabulary under another `tokenizer.ggml.pre` (nil: key absent).
    static func tokenizer(pre: String?) throws -> BPETokenizer {
        let file = try loaded.get().0
        return try BPETokenizer(
            tokens: file.stringArray("tokenizer.ggml.tokens"),
            tokenTypes: file.intArray("tokenizer.ggml.token_type").map { Int32($0) },
            merges: file.stringArray("tokenizer.ggml.merges"), preTokenizer: pre,
            bosID: 1, eosID: 2, addBOS: false, addEOS: false)
    }
}

/// llama.cpp's answers, written by Scripts/make_tokenizer_fixtures.py.
private enum Reference {
    struct Case: Decodable { let text: String; let ids: [Int32]; let decoded: String }
    struct VariantCase: Decodable { let text: String; let ids: [String: [Int32]] }

    static func load<T: Decodable>(_ name: String) throws -> [T] {
        try JSONDecoder().decode([T].self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path(name))))
    }
}

/// Records one issue listing the first strings whose ids differ from llama.cpp's.
private func recordMismatches(_ mismatches: [(text: String, expected: [Int32], got: [Int32])], of total: Int,
                              _ label: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    guard !mismatches.isEmpty else { return }
    let first = mismatches.prefix(5).map {
        "  \($0.text.debugDescription)\n    llama.cpp \($0.expected)\n    graft     \($0.got)"
    }
    let message = "\(label): \(mismatches.count) of \(total) strings differ from llama.cpp; first ones:\n"
        + first.joined(separator: "\n")
    Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
}

@Suite struct BPETokenizerTests {
    @Test func matchesLlamaCppOnEveryFixtureString() throws {
        let tokenizer = try SmolLM2.tokenizer
        let cases: [Reference.Case] = try Reference.load("tokenizer_smollm2.json")
        #expect(cases.count >= 200)
        let mismatches = cases.compactMap { c -> (String, [Int32], [Int32])? in
            let got = tokenizer.encode(c.text)
            return got == c.ids ? nil : (c.text, c.ids, got)
        }
        recordMismatches(mismatches, of: cases.count, "smollm")
    }

    @Test func decodeRoundTripsEveryFixtureString() throws {
        let tokenizer = try SmolLM2.tokenizer
        let cases: [Reference.Case] = try Reference.load("tokenizer_smollm2.json")
        for c in cases {
            // Byte comparisons: String's == would accept canonically equivalent spellings.
            let decoded = Array(tokenizer.decode(c.ids).utf8)
            #expect(decoded == Array(c.decoded.utf8), "llama.cpp decodes \(c.ids) to \(c.decoded.debugDescription)")
            #expect(decoded == Array(c.text.utf8), "round trip of \(c.text.debugDescription)")
        }
    }

    @Test func otherPreTokenizersMatchLlamaCpp() throws {
        let cases: [Reference.VariantCase] = try Reference.load("tokenizer_pre_variants.json")
        let names = Set(cases.flatMap(\.ids.keys))
        #expect(names == ["gpt-2", "llama-bpe", "qwen2", "(none)"])
        for name in names.sorted() {
            let tokenizer = try SmolLM2.tokenizer(pre: name == "(none)" ? nil : name)
            let mismatches = cases.compactMap { c -> (String, [Int32], [Int32])? in
                let got = tokenizer.encode(c.text), expected = c.ids[name]!
                return got == expected ? nil : (c.text, expected, got)
            }
            recordMismatches(mismatches, of: cases.count, "pre \(name)")
        }
    }

    /// The table of formats.md §2.5, checked there against llama-tokenize.
    @Test(arguments: [
        ("Hello world!", [19556, 905, 17]),
        ("The year 2024 had 365 days.", [504, 713, 216, 34, 32, 34, 36, 761, 216, 35, 38, 37, 2009, 30]),
        ("  two spaces\nnewline", [216, 827, 5600, 198, 28160]),
        ("I'm here, it's fine", [57, 5248, 1535, 28, 357, 506, 4979]),
        ("<|im_start|>user\nHi<|im_end|>\n", [1, 4093, 198, 26843, 2, 198]),
    ] as [(String, [Int32])])
    func formatsDocumentTable(text: String, ids: [Int32]) throws {
        let tokenizer = try SmolLM2.tokenizer
        #expect(tokenizer.encode(text) == ids)
        #expect(tokenizer.decode(ids) == text)
    }

    @Test func readsSmolLM2Metadata() throws {
        let tokenizer = try SmolLM2.tokenizer
        #expect(tokenizer.vocabularySize == 49_152)
        #expect(tokenizer.bosID == 1 && tokenizer.eosID == 2)
        #expect(!tokenizer.addBOS && !tokenizer.addEOS)
        #expect(tokenizer.id(of: "<|im_start|>") == 1)
        #expect(tokenizer.id(of: "Ġ") == 216 && tokenizer.id(of: "Ċ") == 198)
        #expect(tokenizer.id(of: " ") == nil)   // vocabulary spelling only
    }

    @Test func specialTokensAreTextWithoutParseSpecial() throws {
        let tokenizer = try SmolLM2.tokenizer
        let text = "<|im_start|>user"
        let plain = tokenizer.encode(text, parseSpecial: false)
        #expect(plain.count > 2 && !plain.contains(1))
        #expect(tokenizer.decode(plain) == text)
        #expect(tokenizer.encode(text) == [1, 4093])
    }

    @Test func bytesOfTokensStreamCharactersSplitAcrossTokens() throws {
        let tokenizer = try SmolLM2.tokenizer
        let text = "emoji 👨‍👩‍👧 and 漢字"
        let ids = tokenizer.encode(text)
        #expect(ids.flatMap { tokenizer.bytes(of: $0) } == Array(text.utf8))
        // Some token boundary falls inside a character: that prefix decodes lossily, not fails.
        #expect((1..<ids.count).contains { tokenizer.decode(Array(ids.prefix($0))).hasSuffix("\u{FFFD}") })
        #expect(tokenizer.bytes(of: -1).isEmpty && tokenizer.bytes(of: 1 << 20).isEmpty)
        #expect(tokenizer.bytes(of: 2) == Array("<|im_end|>".utf8))
    }

    @Test func encodesTenKilobytesInMilliseconds() throws {
        let tokenizer = try SmolLM2.tokenizer
        let cases: [Reference.Case] = try Reference.load("tokenizer_smollm2.json")
        var text = "", random = SeededGenerator(state: 42)
        for c in cases.shuffled(using: &random) where text.utf8.count < 10_000 {
            text += c.text + "\n"
        }
        // A fresh tokenizer copy shares the cache, so time a cold one built from the same parts.
        let cold = try SmolLM2.tokenizer(pre: "smollm")
        let clock = ContinuousClock()
        var ids: [Int32] = []
        let coldTime = clock.measure { ids = cold.encode(text) }
        let warmTime = clock.measure { _ = cold.encode(text) }
        #expect(cold.decode(ids) == text)
        #expect(ids == tokenizer.encode(text))
        print("encode \(text.utf8.count) bytes -> \(ids.count) tokens: cold \(coldTime), warm \(warmTime)")
        #expect(coldTime < .milliseconds(200))
    }
}

/// Splitting by the pre-tokenizers alone, on small hand cases.
@Suite struct PreTokenizerTests {
    func words(_ text: String, _ pre: String?) throws -> [String] {
        let scalars = text.unicodeScalars.map(\.value)
        return try PreTokenizer(name: pre).words(in: ClassifiedText(scalars: scalars)).map { range in
            String(String.UnicodeScalarView(scalars[range].map { Unicode.Scalar($0)! }))
        }
    }

    @Test func smollmIsolatesDigitsBeforeGPT2() throws {
        #expect(try words("The year 2024", "smollm") == ["The", " year", " ", "2", "0", "2", "4"])
        #expect(try words("  two spaces\nnewline", "smollm") == [" ", " two", " spaces", "\n", "newline"])
        #expect(try words("x٣y", "smollm") == ["x", "٣", "y"])   // any \p{N}, not only ASCII
        #expect(try words("", "smollm") == [])
    }

    @Test func gpt2() throws {
        #expect(try words("I'm here", "gpt-2") == ["I", "'m", " here"])
        #expect(try words("IT'S", "gpt-2") == ["IT", "'", "S"])         // contractions are lower case only
        #expect(try words("a   b", "gpt-2") == ["a", "  ", " b"])       // \s+(?!\S) leaves one space
        #expect(try words("x  ", "gpt-2") == ["x", "  "])               // …but not at the end
        #expect(try words("hi!!! ok 42", "gpt-2") == ["hi", "!!!", " ok", " 42"])
        #expect(try words("a\tb", "gpt-2") == ["a", "\t", "b"])         // only U+0020 leads a word
        #expect(try words("a\u{00A0}b", "gpt-2") == ["a", "\u{00A0}", "b"])
        #expect(try words("a\u{200B}b", "gpt-2") == ["a", "\u{200B}", "b"]) // ZWSP is not \s
        #expect(try words("日本語 text", "gpt-2") == ["日本語", " text"])
        #expect(try words("cafe\u{301}s", "gpt-2") == ["cafe", "\u{301}", "s"]) // marks are not \p{L}
        // U+A7CB is a letter since Unicode 16, newer than llama.cpp's table: not a letter there.
        #expect(try words("a\u{A7CB}b", "gpt-2") == ["a", "\u{A7CB}", "b"])
    }

    @Test func llama3AndQwen2() throws {
        #expect(try words("IT'S", "llama-bpe") == ["IT", "'S"])
        #expect(try words("12345", "llama-bpe") == ["123", "45"])
        #expect(try words("12345", "qwen2") == ["1", "2", "3", "4", "5"])
        #expect(try words("\thello", "llama-bpe") == ["\thello"])
        #expect(try words("a\n\n b", "llama-bpe") == ["a", "\n\n", " b"])
        #expect(try words("x!!\n\ny", "llama-bpe") == ["x", "!!\n\n", "y"])
        #expect(try words("a  \n  b", "qwen2") == ["a", "  \n", " ", " b"])
    }

    @Test func fallbackWithoutAName() throws {
        #expect(try words("a+b=c", nil) == ["a", "+", "b", "=", "c"])
        #expect(try words("12345.", nil) == ["123", "45", "."])
    }

    @Test func aliasesShareTheirFamilyRules() throws {
        for name in ["starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"] {
            #expect(try words("in 2024", name) == words("in 2024", "smollm"))
        }
        #expect(try PreTokenizer(name: "llama3").ignoresMerges && PreTokenizer(name: "llama3").addsBOSByDefault)
        #expect(try !PreTokenizer(name: "smollm").ignoresMerges && !PreTokenizer(name: "qwen2").addsBOSByDefault)
    }
}

/// Merging and validation on hand-made vocabularies.
@Suite struct BPEMergeTests {
    func tokenizer(_ tokens: [String], _ merges: [String], types: [Int32]? = nil,
                   pre: String? = "gpt-2") throws(FormatError) -> BPETokenizer {
        try BPETokenizer(tokens: tokens, tokenTypes: types ?? tokens.map { _ in 1 }, merges: merges,
                         preTokenizer: pre, bosID: nil, eosID: nil, addBOS: false, addEOS: false)
    }

    @Test func lowestRankMergesFirst() throws {
        let t = try tokenizer(["a", "b", "c", "ab", "bc", "abc"], ["b c", "a b", "a bc"])
        #expect(t.encode("abc") == [5])          // b+c (rank 0) first, then a+bc
        let u = try tokenizer(["a", "b", "c", "ab", "bc", "abc"], ["a b", "b c", "ab c"])
        #expect(u.encode("abc") == [5])          // a+b (rank 0) first, then ab+c
        #expect(u.encode("abcbc") == [5, 4])
    }

    @Test func equalRanksMergeLeftmostFirst() throws {
        let t = try tokenizer(["a", "aa", "aaa"], ["a a", "aa a"])
        #expect(t.encode("aaa") == [2])          // (a a) a, then aa+a
        #expect(t.encode("aaaa") == [1, 1])      // (a a)(a a): leftmost pair first, then the next
    }

    @Test func missingMergeResultFallsBackToSingleByteTokens() throws {
        // "a b" merges to "ab", which is not a token: llama.cpp emits the bytes that are tokens.
        let t = try tokenizer(["a", "b"], ["a b"])
        #expect(t.encode("ab") == [0, 1])
        #expect(t.encode("abz") == [0, 1])       // "z" has no token and is dropped
    }

    @Test func llama3EmitsWholeWordTokensWithoutMerging() throws {
        let tokens = ["a", "b", "ab", "Ġ"]
        #expect(try tokenizer(tokens, [], pre: "llama3").encode("ab") == [2])
        #expect(try tokenizer(tokens, [], pre: "gpt-2").encode("ab") == [0, 1])
    }

    @Test func specialTokensLongestFirst() throws {
        let t = try tokenizer(["<", "a", ">", "<a>", "<a><a>"], [], types: [1, 1, 1, 3, 4])
        #expect(t.encode("<a><a><a>") == [4, 3])
        #expect(t.encode("<a><a><a>", parseSpecial: false) == [4, 0, 1, 2])  // user-defined stay special
    }

    @Test func byteAndUnusedTokensDecode() throws {
        let t = try tokenizer(["a", "<0x0A>", "<unused>"], [], types: [1, 6, 5])
        #expect(t.bytes(of: 1) == [0x0A] && t.bytes(of: 2).isEmpty && t.decode([0, 1]) == "a\n")
    }

    @Test func rejectsBrokenVocabulariesNamingTheField() {
        func check(_ field: String, _ expected: String, _ build: () throws(FormatError) -> BPETokenizer) {
            do {
                _ = try build()
                Issue.record("accepted a broken vocabulary; expected \(field): \(expected)")
            } catch {
                #expect(error.description.hasPrefix("<tokenizer>: \(field): ") && error.description.contains(expected),
                        "\(error.description)")
            }
        }
        check("tokenizer.ggml.pre", "unknown pre-tokenizer 'tiktoken'") { () throws(FormatError) in
            try tokenizer(["a"], [], pre: "tiktoken")
        }
        check("tokenizer.ggml.token_type", "has 2 entries for 1 tokens") { () throws(FormatError) in
            try tokenizer(["a"], [], types: [1, 1])
        }
        check("tokenizer.ggml.tokens", "repeats token 0") { () throws(FormatError) in
            try tokenizer(["a", "a"], [])
        }
        check("tokenizer.ggml.tokens", "has 0 tokens") { () throws(FormatError) in
            try tokenizer([], [])
        }
        check("tokenizer.ggml.merges", "entry 1 'ab'") { () throws(FormatError) in
            try tokenizer(["a", "b"], ["a b", "ab"])
        }
        check("tokenizer.ggml.bos_token_id", "outside the 1-token vocabulary") { () throws(FormatError) in
            try BPETokenizer(tokens: ["a"], tokenTypes: [1], merges: [], preTokenizer: "gpt-2",
                             bosID: 5, eosID: nil, addBOS: false, addEOS: false)
        }
        check("tokenizer.ggml.add_bos_token", "bos_token_id is not set") { () throws(FormatError) in
            try BPETokenizer(tokens: ["a"], tokenTypes: [1], merges: [], preTokenizer: "gpt-2",
                             bosID: nil, eosID: nil, addBOS: true, addEOS: false)
        }
    }
}

/// Reading the vocabulary from GGUF metadata, on small files written here.
@Suite struct BPETokenizerGGUFTests {
    enum Value { case string(String), strings([String]) }

    /// A GGUF v3 file with no tensors and the given metadata.
    func file(_ entries: [(String, Value)]) throws -> GGUFFile {
        var bytes: [UInt8] = Array("GGUF".utf8)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { bytes += $0 } }
        func u64(_ v: Int) { withUnsafeBytes(of: UInt64(v).littleEndian) { bytes += $0 } }
        func string(_ s: String) { u64(s.utf8.count); bytes += Array(s.utf8) }
        u32(3); u64(0); u64(entries.count)
        for (key, value) in entries {
            string(key)
            switch value {
            case .string(let s): u32(8); string(s)
            case .strings(let a): u32(9); u32(8); u64(a.count); a.forEach(string)
            }
        }
        let path = NSTemporaryDirectory() + "graft-\(getpid())-\(UUID().uuidString).gguf"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try GGUFFile(path: path)   // the mapping outlives the file's name
    }

    let vocabulary: [(String, Value)] = [
        ("tokenizer.ggml.tokens", .strings(["a", "b", "ab"])), ("tokenizer.ggml.merges", .strings(["a b"])),
    ]

    @Test func readsAMinimalVocabulary() throws {
        let gguf = try file([("tokenizer.ggml.model", .string("gpt2"))] + vocabulary)
        let tokenizer = try BPETokenizer(gguf: gguf)
        #expect(tokenizer.encode("abba") == [2, 1, 0])   // no pre key: llama.cpp's fallback rules
        #expect(tokenizer.bosID == nil && !tokenizer.addBOS && !tokenizer.addEOS)
    }

    @Test func errorsNameTheFileAndKey() throws {
        let cases: [([(String, Value)], String)] = [
            ([("tokenizer.ggml.model", .string("llama"))] + vocabulary,
             "tokenizer.ggml.model: is 'llama'; only byte-level BPE ('gpt2') is supported"),
            ([("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("nope"))] + vocabulary,
             "tokenizer.ggml.pre: unknown pre-tokenizer 'nope'"),
            ([("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.tokens", .strings(["a"]))],
             "tokenizer.ggml.merges: missing"),
        ]
        for (entries, expected) in cases {
            let gguf = try file(entries)
            do {
                _ = try BPETokenizer(gguf: gguf)
                Issue.record("accepted a broken vocabulary; expected \(expected)")
            } catch {
                #expect(error.description.hasPrefix("\(gguf.path): ") && error.description.contains(expected),
                        "\(error.description)")
            }
        }
    }
}

/// A fixed-seed generator (SplitMix64) so the timed text is the same on every run.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
