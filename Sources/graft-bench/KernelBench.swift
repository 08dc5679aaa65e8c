import Foundation
import GraftQuant
import GraftTensor

/// Quantized matrix × vector (the decode kernel) in GB/s of weights read, against the copy
/// bandwidth measured in the same run: decode speed is this rate over the model's bytes.
enum KernelBench {
    static func run(repeats: Int) {
        print("== quantized matrix × vector (decode kernel), weights read per second ==")
        var table = Table("matrix", "MiB", "GB/s", "× copy bandwidth")
        let copy = CopyBandwidth.measure() / 2   // read bandwidth is what a matvec is bound by
        var rng = RandomGenerator(seed: 3)
        for (type, rows, cols) in [(GGMLType.q4_1, 16384, 4096), (.q8_0, 49152, 576), (.q4_1, 1536, 576)] {
            let values = (0..<(cols * 64)).map { _ in rng.nextNormal() }
            let block = Quantize.row(type, values)
            var bytes = [UInt8]()
            bytes.reserveCapacity(rows * block.count / 64)
            for _ in 0..<(rows / 64) { bytes += block }
            let w = QuantizedMatrix(type: type, rows: rows, cols: cols, bytes: bytes)
            let x = Tensor.randn([1, cols], generator: &rng)
            let y = Tensor(uninitializedShape: [1, rows])
            let m = Measurement(repeats: repeats) { w.multiply(x.basePointer, n: 1, into: y.basePointer) }
            let rate = Double(w.byteCount) / m.median
            table.add("\(type) \(rows)×\(cols)", fmt(Double(w.byteCount) / 1_048_576), fmt(rate / 1e9), fmt(rate / copy, 2))
        }
        table.print()
        print("(copy bandwidth, read side: \(fmt(copy / 1e9)) GB/s)")
    }
}
