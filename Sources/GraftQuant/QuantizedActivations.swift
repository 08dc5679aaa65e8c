import CGraftKernels
import GraftTensor

/// Activation rows quantized to 16 bits per block of 32 for the integer dot-product kernels:
/// codes, per-block scales d and d·Σcodes (the layout of llama.cpp's Q8_1, with 16-bit codes).
public struct QuantizedActivations {
    public let rows: Int
    public let cols: Int
    public var codes: [Int16]
    public var scales: [Float]
    public var scaledSums: [Float]

    /// Codes stored in the order the 4-bit kernels unpack nibbles (see `graft_quantize_q16`).
    public let nibbleOrder: Bool

    public init(_ x: UnsafePointer<Float>, rows: Int, cols: Int, nibbleOrder: Bool) {
        precondition(cols % 32 == 0, "activations are quantized in blocks of 32; \(cols) columns")
        self.rows = rows
        self.cols = cols
        self.nibbleOrder = nibbleOrder
        codes = [Int16](repeating: 0, count: rows * cols)
        scales = [Float](repeating: 0, count: rows * cols / 32)
        scaledSums = scales
        codes.withUnsafeMutableBufferPointer { q in
            scales.withUnsafeMutableBufferPointer { d in
                scaledSums.withUnsafeMutableBufferPointer { s in
                    let (qp, dp, sp) = (q.baseAddress!, d.baseAddress!, s.baseAddress!)
                    let blocks = cols / 32
                    // Rows are independent: a batch's rows split over the cores, each quantized as it is alone.
                    parallelChunks(rows, grain: max(1, 16384 / max(cols, 1))) { range in
                        for t in range {
                            graft_quantize_q16(x + t * cols, Int32(cols), qp + t * cols, dp + t * blocks, sp + t * blocks, nibbleOrder ? 1 : 0)
                        }
                    }
                }
            }
        }
    }

    /// Σ_c W[row, c]·x[c] for one weight row and activation row `t`, through a C kernel set.
    @inline(__always)
    func dot(_ type: GGMLType, _ w: UnsafeRawPointer, row t: Int, q: UnsafePointer<Int16>, d: UnsafePointer<Float>,
             s: UnsafePointer<Float>, kernels: IntegerKernels) -> Float {
        let blocks = cols / 32
        let (qt, dt, st) = (q + t * cols, d + t * blocks, s + t * blocks)
        let wb = w.assumingMemoryBound(to: UInt8.self)
        let set = kernels.set.pointee
        switch type {
        case .q4_1: return set.dot_q4_1(wb, qt, dt, st, Int32(blocks))
        case .q4_0: return set.dot_q4_0(wb, qt, dt, st, Int32(blocks))
        case .q8_0: return set.dot_q8_0(wb, qt, dt, Int32(blocks))
        default: preconditionFailure("no integer kernel for \(type)")
        }
    }

    /// The same sum in plain Swift, with the C kernel's decomposition (exact integer sums per
    /// block, then d_w·d_x·Σ plus the per-block offset terms). The tests hold the C kernel to this.
    public func referenceDot(_ type: GGMLType, _ w: UnsafeRawPointer, row t: Int) -> Float {
        let blocks = cols / 32
        var total: Float = 0, offsets: Float = 0
        for b in 0..<blocks {
            let block = w + b * type.blockBytes
            let q = (0..<32).map { Int(codes[t * cols + codeIndex(block: b, element: $0, blocks: blocks)]) }
            let dw = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
            var sum = 0
            switch type {
            case .q4_1, .q4_0:
                let start = type == .q4_1 ? 4 : 2
                for j in 0..<16 {
                    let byte = Int(block.load(fromByteOffset: start + j, as: UInt8.self))
                    sum += (byte & 0x0F) * q[j] + (byte >> 4) * q[j + 16]
                }
            case .q8_0:
                for j in 0..<32 { sum += Int(block.load(fromByteOffset: 2 + j, as: Int8.self)) * q[j] }
            default: preconditionFailure("no integer kernel for \(type)")
            }
            total += dw * scales[t * blocks + b] * Float(sum)
            switch type {
            case .q4_1: offsets += Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))) * scaledSums[t * blocks + b]
            case .q4_0: offsets -= 8 * dw * scaledSums[t * blocks + b]
            default: break
            }
        }
        return total + offsets
    }

    /// Where element `element` of block `block` sits among a row's codes.
    func codeIndex(block b: Int, element j: Int, blocks: Int) -> Int {
        if !nibbleOrder || (b == blocks - 1 && blocks % 2 == 1) { return 32 * b + j }
        return 64 * (b / 2) + (j < 16 ? 0 : 32) + 16 * (b % 2) + j % 16
    }
}

extension QuantizedMatrix {
    /// Whether `fast` has an integer kernel for this matrix's type.
    public var hasIntegerKernel: Bool { [.q4_0, .q4_1, .q8_0].contains(type) }

    /// Whether the integer kernel wants activation codes in nibble order (the 4-bit types).
    var wantsNibbleOrder: Bool { type != .q8_0 }

    /// y[t, r] = Σ_c W[r, c]·x̃[t, c] with x̃ the 16-bit quantized activations; rows split over cores.
    public func multiplyFewQuantized(_ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>,
                                     kernels: IntegerKernels) {
        let xq = QuantizedActivations(x, rows: n, cols: cols, nibbleOrder: wantsNibbleOrder)
        multiplyFewQuantized(xq, rows: 0..<rows, into: y, kernels: kernels)
    }

    /// Several matrices that read the same input (a block's q, k and v; gate and up) in one
    /// parallel loop over all their rows, with the activations quantized once: one hand-off to
    /// the other core instead of one per matrix. Returns false (doing nothing) when the
    /// matrices cannot share it (no integer kernel, other input sizes, other code orders).
    public static func multiplyFewQuantized(_ matrices: [QuantizedMatrix], _ x: UnsafePointer<Float>, n: Int,
                                            into outputs: [UnsafeMutablePointer<Float>]) -> Bool {
        guard let kernels = IntegerKernels.preferred, let first = matrices.first, matrices.allSatisfy({
            $0.hasIntegerKernel && $0.cols == first.cols && $0.wantsNibbleOrder == first.wantsNibbleOrder
        }) else { return false }
        let xq = QuantizedActivations(x, rows: n, cols: first.cols, nibbleOrder: first.wantsNibbleOrder)
        var starts = [0]
        for m in matrices { starts.append(starts.last! + m.rows) }
        let total = starts.last!
        parallelChunks(total, grain: 64) { range in
            for (i, m) in matrices.enumerated() {
                let lo = max(range.lowerBound, starts[i]) - starts[i], hi = min(range.upperBound, starts[i + 1]) - starts[i]
                if lo < hi { m.multiplyFewQuantized(xq, rows: lo..<hi, into: outputs[i], kernels: kernels, parallel: false) }
            }
        }
        return true
    }

    /// Rows `range` of y = W·x̃ for already quantized activations, split over the cores unless
    /// `parallel` is off (the caller is already one of several workers).
    func multiplyFewQuantized(_ xq: QuantizedActivations, rows range: Range<Int>, into y: UnsafeMutablePointer<Float>,
                              kernels: IntegerKernels, parallel: Bool = true) {
        let n = xq.rows
        let me = self
        let set = kernels.set.pointee
        xq.codes.withUnsafeBufferPointer { q in
            xq.scales.withUnsafeBufferPointer { d in
                xq.scaledSums.withUnsafeBufferPointer { s in
                    let (qp, dp, sp) = (q.baseAddress!, d.baseAddress!, s.baseAddress!)
                    let blocks = cols / 32
                    let work = { (local: Range<Int>) in
                        let range = (range.lowerBound + local.lowerBound)..<(range.lowerBound + local.upperBound)
                        switch me.type {
                        case .q4_1, .q8_0:
                            let w = me.row(range.lowerBound).assumingMemoryBound(to: UInt8.self)
                            let out = y + range.lowerBound
                            // Several activation rows per weight block where the set can (the same
                            // bits per row as one at a time, so results never depend on n).
                            if n > 1, let repacked = me.decodeRows, let matmat = set.matmat_q4_1r {
                                let rw = repacked.pointer.assumingMemoryBound(to: UInt8.self) + range.lowerBound * me.rowBytes
                                matmat(rw, me.rowBytes, Int32(range.count), qp, me.cols, dp, sp, blocks, Int32(blocks), out, me.rows, Int32(n))
                                return
                            }
                            if n > 1, me.type == .q8_0, me.decodeRows == nil, let matmat = set.matmat_q8_0 {
                                matmat(w, me.rowBytes, Int32(range.count), qp, me.cols, dp, blocks, Int32(blocks), out, me.rows, Int32(n))
                                return
                            }
                            // Whole runs of rows per call, four rows at a time in the kernel.
                            for t in 0..<n {
                                let (qt, dt, st) = (qp + t * me.cols, dp + t * blocks, sp + t * blocks)
                                let w = me.row(range.lowerBound).assumingMemoryBound(to: UInt8.self)
                                let out = y + t * me.rows + range.lowerBound
                                if let repacked = me.decodeRows {
                                    let rw = repacked.pointer.assumingMemoryBound(to: UInt8.self) + range.lowerBound * me.rowBytes
                                    set.matvec_q4_1r(rw, me.rowBytes, Int32(range.count), qt, dt, st, Int32(blocks), out)
                                } else if me.type == .q4_1 {
                                    set.matvec_q4_1(w, me.rowBytes, Int32(range.count), qt, dt, st, Int32(blocks), out)
                                } else {
                                    set.matvec_q8_0(w, me.rowBytes, Int32(range.count), qt, dt, Int32(blocks), out)
                                }
                            }
                        default:
                            for r in range {
                                let w = me.row(r)
                                for t in 0..<n { y[t * me.rows + r] = xq.dot(me.type, w, row: t, q: qp, d: dp, s: sp, kernels: kernels) }
                            }
                        }
                    }
                    if parallel { parallelChunks(range.count, grain: 64, work) } else { work(0..<range.count) }
                }
            }
        }
    }
}
