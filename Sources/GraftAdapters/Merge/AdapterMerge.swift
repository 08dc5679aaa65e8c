import Foundation
import GraftFormats
import GraftModel
import GraftQuant
import GraftTensor

/// Folds adapters into a copy of their base GGUF, so llama.cpp (or anything that reads GGUF)
/// runs the adapted model with no adapter support: for each adapted projection,
/// W ← W + sᵢ·scalingᵢ·BᵢAᵢ for each adapter in turn (DoRA: W ← (m/‖V‖_row)·V with
/// V = W + s·scaling·BA, formats.md §4.6), computed in Float32 on the dequantized weight and then
/// quantized row by row to the requested type; never added into 4-bit codes. Every other tensor
/// and every metadata key (tokenizer, chat template) is copied as it is, except
/// `general.file_type`, and `graft.merged` records what was merged.
public enum AdapterMerge {
    /// One adapter to fold in, with its user scale (the reference's `:SCALE`).
    public struct Part {
        public var weights: AdapterWeights
        public var scale: Float
        public var label: String
        public init(weights: AdapterWeights, scale: Float, label: String) {
            self.weights = weights
            self.scale = scale
            self.label = label
        }
    }

    /// The types a merged projection can be written in.
    public static let outputTypes: [GGMLType] = [.f32, .f16, .q8_0, .q4_1]

    /// llama.cpp's `general.file_type` (`llama_ftype`) for a file mostly of `type`.
    static func fileType(_ type: GGMLType) -> UInt32 {
        switch type {
        case .f32: 0
        case .f16: 1
        case .q4_1: 3
        case .q8_0: 7
        case .bf16: 32
        default: 0
        }
    }

    /// What a merge wrote.
    public struct Summary: Sendable {
        /// Projections merged.
        public var tensors: Int
        /// How much of the adapters' change survives the requantization, over all merged weights:
        /// ⟨Δq, Δ⟩ / ⟨Δ, Δ⟩ with Δ = W' − W in Float32 and Δq = dequant(quant(W')) − W. 1 for
        /// F32; well below 1 when Δ is small against the type's step (a 4-bit type rounds most
        /// of a LoRA update back to the base's own codes).
        public var retained: Double
    }

    /// Writes the merged model to `path` (whole or not at all).
    @discardableResult
    public static func merge(base: GGUFFile, geometry: BaseGeometry, parts: [Part], type: GGMLType, to path: String,
                             progress: (Int, Int) -> Void = { _, _ in }) throws(FormatError) -> Summary {
        guard outputTypes.contains(type) else {
            throw .invalid(path: path, field: "type", reason: "\(type) is not a merge type (\(outputTypes.map(\.description).joined(separator: ", ")))")
        }
        guard !parts.isEmpty else { throw .invalid(path: path, field: "adapters", reason: "no adapter to merge") }
        var byTensor: [String: [(Part, AdapterWeights.Layer)]] = [:]
        for part in parts {
            for (key, layer) in part.weights.layers {
                byTensor["blk.\(key.block).\(GGUFLoRA.tensorName(key.target)).weight", default: []].append((part, layer))
            }
        }
        var writer = GGUFWriter()
        writer.alignment = base.alignment
        for key in base.keys where key != "general.alignment" || base.alignment != GGUFFile.defaultAlignment {
            writer.add(key, base.metadata[key]!)
        }
        writer.add("general.file_type", .uint32(fileType(type)))
        writer.add("graft.merged", .string(parts.map { "\($0.label) × \($0.scale)" }.joined(separator: " + ")))
        var merged = 0
        var (kept, total): (Double, Double) = (0, 0)
        for (i, info) in base.tensors.enumerated() {
            progress(i, base.tensors.count)
            let data = try base.tensorData(info.name)
            guard let layers = byTensor[info.name] else {
                writer.addTensor(info.name, type: info.type, dims: info.dims, bytes: Array(data))
                continue
            }
            let (rows, cols) = (info.dims.count == 2 ? info.dims[1] : 1, info.dims[0])
            let original = QuantizedMatrix(type: info.type, rows: rows, cols: cols, data: data.baseAddress!, owner: base.mapping)
                .dequantized().toArray()
            var w = original
            for (part, layer) in layers {
                guard layer.b.shape == [rows, part.weights.lora.rank], layer.a.shape == [part.weights.lora.rank, cols] else {
                    throw .invalid(path: base.path, field: info.name, reason: "is [\(rows), \(cols)]; \(part.label)'s adapter for it has A \(layer.a.shape) and B \(layer.b.shape)")
                }
                apply(layer, scaling: part.scale * part.weights.lora.scaling, rank: part.weights.lora.rank, to: &w, rows: rows, cols: cols)
            }
            guard cols % type.blockSize == 0 else {
                throw .invalid(path: base.path, field: info.name, reason: "rows of \(cols) values are not whole \(type) blocks")
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(rows * (type.rowBytes(cols) ?? 0))
            var back = [Float](repeating: 0, count: cols)
            for r in 0..<rows {
                let row = Quantize.row(type, Array(w[(r * cols)..<((r + 1) * cols)]))
                row.withUnsafeBytes { raw in back.withUnsafeMutableBufferPointer { Dequantize.row(type, raw.baseAddress!, $0.baseAddress!, count: cols) } }
                for c in 0..<cols {
                    let delta = Double(w[r * cols + c] - original[r * cols + c])
                    kept += Double(back[c] - original[r * cols + c]) * delta
                    total += delta * delta
                }
                bytes += row
            }
            writer.addTensor(info.name, type: type, dims: info.dims, bytes: bytes)
            merged += 1
        }
        let needed = Set(byTensor.keys).subtracting(base.tensors.map(\.name))
        if let missing = needed.sorted().first { throw .missing(path: base.path, name: missing) }
        try writer.write(to: path)
        return Summary(tensors: merged, retained: total > 0 ? kept / total : 1)
    }

    /// W ← W + scaling·B·A, or DoRA's W ← (m/‖W + scaling·B·A‖_row)·(W + scaling·B·A), in place
    /// on a row-major `[rows, cols]` weight.
    public static func apply(_ layer: AdapterWeights.Layer, scaling: Float, rank: Int, to w: inout [Float], rows: Int, cols: Int) {
        let a = layer.a.toArray(), b = layer.b.toArray()
        w.withUnsafeMutableBufferPointer { c in
            BLAS.sgemm(transA: false, transB: false, m: rows, n: cols, k: rank, alpha: scaling,
                       a: b, lda: rank, b: a, ldb: cols, beta: 1, c: c.baseAddress!, ldc: cols)
        }
        guard let magnitude = layer.magnitude?.toArray() else { return }
        for r in 0..<rows {
            var sum: Double = 0
            for c in 0..<cols { sum += Double(w[r * cols + c]) * Double(w[r * cols + c]) }
            let ratio = magnitude[r] / Float(sum.squareRoot())
            for c in 0..<cols { w[r * cols + c] *= ratio }
        }
    }
}
