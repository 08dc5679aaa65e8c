import GraftFormats
import GraftQuant
import Testing
import GraftTestSupport

/// Dequantization bit-exact against gguf-py (Scripts/make_quant_fixtures.py).
@Suite struct DequantizeTests {
    let file: SafetensorsFile
    init() throws { file = try SafetensorsFile(path: Fixtures.path("dequant.safetensors")) }

    @Test(arguments: [GGMLType.f16, .bf16, .q4_0, .q4_1, .q8_0, .q4_K, .q6_K])
    func randomBlocksEqualGGUFPy(_ type: GGMLType) throws {
        let bytes = try file.rawBytes("\(type).bytes")
        let expected = try file.tensor("\(type).values").toArray()
        var out = [Float](repeating: .nan, count: expected.count)
        #expect(type.rowBytes(expected.count) == bytes.count)
        bytes.withUnsafeBytes { src in
            Dequantize.row(type, src.baseAddress!, &out, count: expected.count)
        }
        let mismatches = zip(out, expected).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(mismatches == 0, "\(type): \(mismatches) of \(expected.count) values differ")
    }

    @Test(arguments: ["blk.0.attn_q.weight", "token_embd.weight"])
    func realSmolLM2RowsEqualGGUFPy(_ name: String) throws {
        let model = try GGUFFile(path: Models.smolLM2)
        let info = try #require(model.tensor(name))
        let data = try model.tensorData(name)
        let expected = try file.tensor("smollm2.\(name)")
        let cols = info.dims[0]
        var out = [Float](repeating: .nan, count: expected.count)
        Dequantize.row(info.type, data.baseAddress!, &out, count: expected.count)
        #expect(expected.shape == [3, cols])
        #expect(out.map(\.bitPattern) == expected.toArray().map(\.bitPattern))
    }
}
