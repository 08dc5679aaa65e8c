import Foundation
import GraftFormats
@testable import GraftQuant
import GraftTensor
import Testing
import GraftTestSupport

/// NF4/FP4 with and without double quantization against bitsandbytes 0.50.2 on a CPU
/// (Scripts/make_nf4_fixtures.py): packed codes, absmax (plain, or nested codes, group absmax
/// and offset) and the dequantized values, bit for bit.
@Suite struct FourBitTests {
    struct Case: Decodable {
        let quant_type: String
        let blocksize: Int
        let shape: [Int]
        let compress_statistics: Bool
    }

    static let cases: [String] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: Fixtures.path("nf4.json")))
        let json = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (json["cases"] as! [String: Any]).keys.sorted()
    }()

    let file: SafetensorsFile
    let meta: [String: Case]

    init() throws {
        file = try SafetensorsFile(path: Fixtures.path("nf4.safetensors"))
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("nf4.json")))
        struct Root: Decodable { let cases: [String: Case] }
        meta = try JSONDecoder().decode(Root.self, from: data).cases
    }

    func floats(_ name: String) throws -> [Float] { try file.tensor(name).toArray() }
    func bytes(_ name: String) throws -> [UInt8] { try file.rawBytes(name) }

    @Test func dynamicMapEqualsBitsandbytes() throws {
        #expect(DynamicMap.values.map(\.bitPattern) == (try floats("dynamic_map")).map(\.bitPattern))
    }

    @Test(arguments: cases)
    func quantizeEqualsBitsandbytes(_ name: String) throws {
        let c = try #require(meta[name])
        let type = try #require(FourBitType(rawValue: c.quant_type))
        #expect(type.code.map(\.bitPattern) == (try floats("\(name).quant_map")).map(\.bitPattern))
        let input = try floats("\(name).input")
        let m = input.withUnsafeBufferPointer {
            FourBitMatrix.quantize($0, rows: c.shape[0], cols: c.shape[1], type: type, blockSize: c.blocksize,
                                   doubleQuant: c.compress_statistics)
        }
        let packed = try bytes("\(name).packed")
        let wrong = zip(m.packed, packed).filter { $0 != $1 }.count
        #expect(wrong == 0, "\(wrong) of \(packed.count) packed bytes differ")
        switch m.absmax {
        case .plain(let a):
            #expect(!c.compress_statistics)
            #expect(a.map(\.bitPattern) == (try floats("\(name).absmax")).map(\.bitPattern))
        case .nested(let codes, let group, let offset):
            #expect(c.compress_statistics)
            #expect(offset.bitPattern == (try floats("\(name).offset"))[0].bitPattern)
            #expect(group.map(\.bitPattern) == (try floats("\(name).nested_absmax")).map(\.bitPattern))
            let expected = try bytes("\(name).absmax")
            let differing = zip(codes, expected).filter { $0 != $1 }.count
            #expect(differing == 0, "\(differing) of \(codes.count) absmax codes differ")
        }
    }

    @Test(arguments: cases)
    func dequantizeEqualsBitsandbytes(_ name: String) throws {
        let c = try #require(meta[name])
        let type = try #require(FourBitType(rawValue: c.quant_type))
        let absmax: FourBitMatrix.Absmax = c.compress_statistics
            ? .nested(codes: try bytes("\(name).absmax"), groupAbsmax: try floats("\(name).nested_absmax"),
                      offset: try floats("\(name).offset")[0])
            : .plain(try floats("\(name).absmax"))
        let m = FourBitMatrix(type: type, rows: c.shape[0], cols: c.shape[1], blockSize: c.blocksize,
                              packed: try bytes("\(name).packed"), absmax: absmax)
        let ours = m.dequantized().toArray(), theirs = try floats("\(name).dequant")
        // Equal as numbers: bitsandbytes' scalar CPU kernel writes −0.0 for FP4's zero code
        // where its own code book (and its AVX-512 kernel) has +0.0.
        let wrong = zip(ours, theirs).filter { $0 != $1 || ($0 != 0 && $0.bitPattern != $1.bitPattern) }.count
        #expect(wrong == 0, "\(wrong) of \(ours.count) values differ")
    }

    @Test func frozenFourBitLinearMatchesDenseProduct() throws {
        var g = RandomGenerator(seed: 3)
        let w = Tensor.randn([48, 64], std: 0.05, generator: &g)
        let m = w.withUnsafeBufferPointer { FourBitMatrix.quantize($0, rows: 48, cols: 64, type: .nf4) }
        let dense = m.dequantized()
        let x = Tensor.randn([7, 64], generator: &g, requiresGrad: true)
        let y = linear(x, m)
        let reference = matmul(x.detached(), dense, transposeB: true)
        #expect(zip(y.toArray(), reference.toArray()).allSatisfy { abs($0 - $1) <= 1e-5 })
        y.sum().backward()
        let gx = matmul(Tensor.ones([7, 48]), dense)
        #expect(zip(x.grad!.toArray(), gx.toArray()).allSatisfy { abs($0 - $1) <= 1e-5 })
        #expect(m.byteCount < 48 * 64 / 2 + 48 * 64 / 64 + 16)
    }
}
