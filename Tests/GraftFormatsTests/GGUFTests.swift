import Foundation
import GraftFormats
import GraftQuant
import Testing

@Suite struct GGUFTests {
    func tempPath(_ name: String) -> String { NSTemporaryDirectory() + "graft-\(getpid())-\(name)" }

    func sample() -> GGUFWriter {
        var w = GGUFWriter()
        w.add("general.architecture", .string("llama"))
        w.add("test.u32", .uint32(7))
        w.add("test.f32", .float32(1.5))
        w.add("test.bool", .bool(true))
        w.add("test.strings", .array([.string("a"), .string("béta"), .string("")]))
        w.add("test.i64", .int64(-3))
        w.addTensor("a.weight", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        w.addTensor("q.weight", type: .q8_0, dims: [32, 2], bytes: Quantize.row(.q8_0, (0..<64).map { Float($0) / 10 }))
        return w
    }

    @Test func writerOutputReadsBackWithLlamaCppLayout() throws {
        let path = tempPath("rt.gguf")
        try sample().write(to: path)
        let f = try GGUFFile(path: path)
        #expect(f.keys == ["general.architecture", "test.u32", "test.f32", "test.bool", "test.strings", "test.i64"])
        #expect(try f.int("test.u32") == 7 && f.float("test.f32") == 1.5 && f.bool("test.bool"))
        #expect(try f.stringArray("test.strings") == ["a", "béta", ""])
        #expect(f.metadata["test.i64"] == .int64(-3))
        let a = try #require(f.tensor("a.weight"))
        #expect(a.shape == [2, 3] && a.dims == [3, 2] && a.type == .f32)
        // Data in info order, each tensor padded to the alignment: offsets are the running padded sum.
        #expect(a.offset == 0 && f.tensor("q.weight")!.offset == 32)
        #expect(f.dataOffset % 32 == 0)
        let raw = try f.tensorData("a.weight")
        #expect(Array(raw.bindMemory(to: Float.self)) == [1, 2, 3, 4, 5, 6])
        try FileManager.default.removeItem(atPath: path)
    }

    @Test func typedAccessorsNameTheKey() throws {
        let f = try GGUFFile(mapping: MappedFile(copying: sample().encoded(), path: "s.gguf"))
        #expect(throws: FormatError.invalid(path: "s.gguf", field: "test.u32", reason: "expected STRING, found UINT32")) { try f.string("test.u32") }
        #expect(throws: FormatError.invalid(path: "s.gguf", field: "nope", reason: "missing")) { try f.int("nope") }
    }

    /// Each broken file gets an error naming the file and what is wrong.
    @Test func brokenFilesGiveClearErrors() throws {
        let good = sample().encoded()
        func load(_ bytes: [UInt8]) -> String {
            do { _ = try GGUFFile(mapping: MappedFile(copying: bytes, path: "bad.gguf")); return "accepted" }
            catch { return error.description }
        }
        #expect(load([]).contains("bad.gguf: magic"))
        #expect(load(Array("GGML".utf8) + good.dropFirst(4)).contains("not a GGUF file"))
        var v1 = good; v1[4] = 1
        #expect(load(v1).contains("GGUF version 1 is not supported"))
        #expect(load(Array(good.prefix(good.count - 40))).contains("q.weight: data at"))
        #expect(load(Array(good.prefix(40))).contains("tensor_count: 2 entries cannot fit"))
        #expect(load(Array(good.prefix(200))).contains("truncated"))
        var hugeCount = good; for i in 8..<16 { hugeCount[i] = 0xFF }
        #expect(load(hugeCount).contains("tensor_count"))
        var badType = sample()
        badType.addTensor("x.weight", type: .f32, dims: [1], bytes: [0, 0, 0, 0])
        var bytes = badType.encoded()
        // The type field of x.weight's info (after its name, rank and one dimension): make it Q5_K (13).
        let name = Array("x.weight".utf8)
        let at = (0..<(bytes.count - name.count)).first { Array(bytes[$0..<($0 + name.count)]) == name }!
        bytes[at + name.count + 4 + 8] = 13
        #expect(load(bytes).contains("x.weight: tensor type Q5_K is not supported"))
    }
}
