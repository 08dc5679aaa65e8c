import Foundation
@testable import GraftData
import GraftFormats
import Testing
import GraftTestSupport

/// JSONL shapes and their errors, chat rendering with prompt masks, truncation, and packing
/// with restarting positions and per-example segments.
@Suite struct DatasetTests {
    func dataset(_ text: String) throws(DatasetError) -> JSONLDataset { try JSONLDataset(data: Data(text.utf8), path: "d.jsonl") }

    func failure(_ text: String) -> DatasetError? {
        do { _ = try dataset(text); return nil } catch { return error }
    }

    @Test func threeShapesAreDetected() throws {
        #expect(try dataset("{\"text\": \"a\"}\n\n{\"text\": \"b\"}\n").shape == .text)
        #expect(try dataset("{\"prompt\": \"p\", \"completion\": \"c\"}").shape == .completion)
        let chat = try dataset("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]}")
        #expect(chat.examples == [.chat([ChatMessage(role: "user", content: "hi"), ChatMessage(role: "assistant", content: "yo")])])
    }

    @Test func malformedLinesNameFileAndLine() {
        #expect(failure("{\"text\": \"a\"}\n{\"text\": \"b\"") == .malformed(path: "d.jsonl", line: 2, reason: failure("{\"text\": \"a\"}\n{\"text\": \"b\"")!.reason))
        #expect(failure("{\"text\": \"a\"}\n{\"text\": \"b\"")?.description.hasPrefix("d.jsonl:2: not valid JSON") == true)
        #expect(failure("{\"text\": \"a\"}\n\n{\"prompt\": \"p\", \"completion\": \"c\"}")?.description
                == "d.jsonl:3: a prompt/completion example in a text file (the first example sets the shape; one shape per file)")
        #expect(failure("{\"prompt\": \"p\"}")?.description == "d.jsonl:1: missing \"completion\"")
        #expect(failure("{\"text\": 3}")?.description == "d.jsonl:1: \"text\" must be a string, found a number")
        #expect(failure("[1, 2]")?.description == "d.jsonl:1: expected a JSON object, found an array")
        #expect(failure("{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}")?.description
                == "d.jsonl:1: messages[0] has role \"robot\" (expected system, user or assistant)")
        #expect(failure("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}")?.description
                == "d.jsonl:1: the conversation has no assistant message to learn from")
        #expect(failure("{\"input\": \"x\"}")?.description.contains("unknown shape") == true)
        #expect(failure("\n  \n") == .empty(path: "d.jsonl"))
        #expect(throws: DatasetError.self) { try JSONLDataset(path: "/nonexistent/train.jsonl") }
    }

    @Test func chatMaskCoversAssistantTurnsOnly() throws {
        let lm = try Tokenizing.smolLM2()
        let encoder = ExampleEncoder(tokenizer: lm.tokenizer, template: lm.template, maskPrompt: true, maxLength: 512)
        let messages = [ChatMessage(role: "user", content: "Name a color."), ChatMessage(role: "assistant", content: "Blue."),
                        ChatMessage(role: "user", content: "Another?"), ChatMessage(role: "assistant", content: "Red.")]
        let e = try encoder.encode(.chat(messages), path: "d", line: 1)
        // The pieces tokenized one by one equal the whole conversation tokenized at once.
        let whole = try lm.template!.render(messages: messages, addGenerationPrompt: false)
        #expect(e.tokens == lm.tokenizer.encode(whole, parseSpecial: true))
        let scored = zip(e.tokens, e.isTarget).filter(\.1).map(\.0)
        #expect(lm.tokenizer.decode(scored) == "Blue.<|im_end|>\nRed.<|im_end|>\n")
        let unmasked = ExampleEncoder(tokenizer: lm.tokenizer, template: lm.template, maskPrompt: false, maxLength: 512)
        #expect(try unmasked.encode(.chat(messages), path: "d", line: 1).isTarget.allSatisfy { $0 })
        // prompt/completion is a user turn and an assistant turn.
        let pc = try encoder.encode(.completion(prompt: "Name a color.", completion: "Blue."), path: "d", line: 1)
        #expect(lm.tokenizer.decode(zip(pc.tokens, pc.isTarget).filter(\.1).map(\.0)) == "Blue.<|im_end|>\n")
    }

    @Test func truncationIsCounted() throws {
        let lm = try Tokenizing.smolLM2()
        let encoder = ExampleEncoder(tokenizer: lm.tokenizer, template: lm.template, maskPrompt: false, maxLength: 8)
        let d = try dataset("{\"text\": \"one two three four five six seven eight nine ten eleven\"}\n{\"text\": \"short\"}")
        let (examples, summary) = try encoder.encode(d)
        #expect(summary.truncated == 1 && summary.examples == 2 && examples[0].tokens.count == 8)
        #expect(summary.longest > 8)
    }

    @Test func packingKeepsExamplesApart() {
        let a = TokenizedExample(tokens: [10, 11, 12], isTarget: [false, true, true])
        let b = TokenizedExample(tokens: [20, 21], isTarget: [true, true])
        let c = TokenizedExample(tokens: [30, 31, 32, 33], isTarget: [true, true, true, true])
        let packer = Packer(length: 6, packing: true, padToken: 0)
        let rows = packer.rows([a, b, c])
        #expect(rows.count == 2 && rows[0] == [a, b] && rows[1] == [c])
        let batch = packer.batch(rows)
        #expect(batch.tokens == [10, 11, 12, 20, 21, 0, 30, 31, 32, 33, 0, 0])
        #expect(batch.positions == [0, 1, 2, 0, 1, 0, 0, 1, 2, 3, 0, 1])
        #expect(batch.segments == [0, 0, 0, 1, 1, 2, 0, 0, 0, 0, 1, 1])
        // Each token predicts the next of its own example; the last token of an example and padding score nothing.
        #expect(batch.targets == [11, 12, -100, 21, -100, -100, 31, 32, 33, -100, -100, -100])
        #expect(batch.realTokens == 9)
        let unpacked = Packer(length: 6, packing: false, padToken: 0)
        #expect(unpacked.batch(unpacked.rows([a, b])).length == 3)
    }

    @Test func streamIsReproducibleAndResumable() {
        let examples = (0..<10).map { TokenizedExample(tokens: [Int32($0), 1], isTarget: [true, true]) }
        let packer = Packer(length: 4, packing: true, padToken: 0)
        var s1 = BatchStream(examples: examples, packer: packer, batchSize: 2, seed: 3)
        let first = (0..<7).map { _ in s1.next() }
        var s2 = BatchStream(examples: examples, packer: packer, batchSize: 2, seed: 3)
        #expect((0..<7).map { _ in s2.next() } == first)
        var s3 = BatchStream(examples: examples, packer: packer, batchSize: 2, seed: 3)
        s3.seek(to: BatchStream.Position(epoch: 1, batch: 1))
        #expect(s3.next() == first[4])
        #expect(first[0] != first[3] || first[1] != first[4])   // epochs are shuffled differently
    }
}

extension DatasetError {
    var reason: String {
        if case .malformed(_, _, let r) = self { return r }
        return ""
    }
}

/// SmolLM2's tokenizer and chat template (the real model, fetched by `make model`).
enum Tokenizing {
    static func smolLM2() throws -> (tokenizer: BPETokenizer, template: ChatTemplate?) {
        let file = try GGUFFile(path: Models.smolLM2)
        let template = try file.metadata["tokenizer.chat_template"]?.stringValue.map { try ChatTemplate(source: $0) }
        return (try BPETokenizer(gguf: file), template)
    }
}
