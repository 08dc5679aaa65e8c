import Foundation
import GraftFormats
import GraftTensor
import Testing
import GraftTestSupport

@Suite struct SafetensorsTests {
    func temp(_ name: String) -> String { NSTemporaryDirectory() + "graft-\(getpid())-\(name)" }

    @Test func readsTorchFileAndRoundTrips() throws {
        let torchFile = try SafetensorsFile(path: Fixtures.path("llama_block.safetensors"))
        #expect(torchFile.metadata["transformers"] != nil)
        let wq = try torchFile.tensor("weight.wq")
        #expect(wq.shape == [64, 64])
        let path = temp("rt.safetensors")
        try SafetensorsFile.write(["b": wq, "a": Tensor([1, 2, 3], shape: [3])], metadata: ["format": "pt"], to: path)
        let back = try SafetensorsFile(path: path)
        #expect(back.names == ["a", "b"])
        #expect(try back.tensor("b").toArray() == wq.toArray())
        #expect(back.metadata == ["format": "pt"])
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        let headerLength = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        #expect(headerLength % 8 == 0 && size == 8 + headerLength + (64 * 64 + 3) * 4)
        try FileManager.default.removeItem(atPath: path)
    }

    func header(_ json: String, data: Int) -> Data {
        var d = Data()
        withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { d.append(contentsOf: $0) }
        d.append(Data(json.utf8))
        d.append(Data(count: data))
        return d
    }

    @Test func rejectsBrokenLayoutsWithTheFieldAtFault() {
        let cases: [(Data, String)] = [
            (Data([1, 2, 3]), "shorter than the 8-byte header length"),
            (header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: 4), "tensors cover 8 bytes"),
            (header(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: 8), "a: holds 8 bytes"),
            (header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8), "a: data_offsets"),
            (header(#"{"a":{"dtype":"Q9","shape":[1],"data_offsets":[0,4]}}"#, data: 4), "dtype Q9"),
            (header(#"{"__metadata__":{"n":1}}"#, data: 0), "__metadata__.n"),
            (header("[1]", data: 0), "does not start with '{'"),
            (header("{nope", data: 0), "not valid JSON"),
            (header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: 12), "b: data_offsets 4..<12 leave a hole or overlap"),
            (header(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: 8), "tensors cover 16 bytes of data but the file holds 8"),
            (header(#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, data: 8), "a: shape [4611686018427387904, 4] has more elements"),
            (header(#"{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}}"#, data: 8), "a: shape [2305843009213693952] has more elements"),
            (header(#"{"a":{"dtype":"F32","shape":[2305843009213693951],"data_offsets":[0,9223372036854775804]}}"#, data: 8), "tensors cover 9223372036854775804 bytes"),
            (header(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: 4), "a: negative size"),
        ]
        for (data, expected) in cases {
            do {
                _ = try SafetensorsFile(data: data, path: "x.safetensors")
                Issue.record("accepted a broken file; expected \(expected)")
            } catch {
                #expect(error.description.hasPrefix("x.safetensors: ") && error.description.contains(expected),
                        "\(error.description)")
            }
        }
        var long = Data()
        withUnsafeBytes(of: UInt64(100)) { long.append(contentsOf: $0) }
        long.append(contentsOf: Array("{}".utf8))
        #expect(throws: FormatError.invalid(path: "x.safetensors", field: nil, reason: "header length 100 runs past the end of the 10-byte file")) {
            try SafetensorsFile(data: long, path: "x.safetensors")
        }
        var huge = Data()
        withUnsafeBytes(of: UInt64(1) << 40) { huge.append(contentsOf: $0) }
        #expect(throws: FormatError.self) { try SafetensorsFile(data: huge) }
    }
}
