import GraftQuant
import GraftTensor

extension LlamaModel {
    /// Re-quantizes every frozen projection of the blocks to bitsandbytes NF4/FP4 with double
    /// quantization (QLoRA's storage), one matrix at a time from its dequantized GGUF blocks.
    /// The embedding and output head keep their GGUF blocks (QLoRA leaves them unquantized too).
    /// Call before attaching adapters.
    public func requantize(_ type: FourBitType, blockSize: Int = 64) {
        for i in weights.blocks.indices {
            for target in LoRATarget.allCases {
                guard let frozen = weights.blocks[i][target] as? FrozenLinear else { continue }
                let dense = frozen.weight.dequantized()
                let fourBit = dense.withUnsafeBufferPointer {
                    FourBitMatrix.quantize($0, rows: frozen.outputSize, cols: frozen.inputSize, type: type, blockSize: blockSize)
                }
                weights.blocks[i][target] = FrozenLinear(fourBit)
            }
        }
    }

    /// Gives every frozen GGUF projection of the blocks the decode kernel's row layout
    /// (`QuantizedMatrix.preparedForDecoding`): faster token-by-token generation for one more
    /// copy of the Q4_1 weights in memory. Inference calls it; training does not need it.
    /// Layers already wrapped by adapters keep their base as it is.
    public func prepareForDecoding() {
        for i in weights.blocks.indices {
            for target in LoRATarget.allCases {
                guard let frozen = weights.blocks[i][target] as? FrozenLinear,
                      let matrix = frozen.weight as? QuantizedMatrix else { continue }
                weights.blocks[i][target] = FrozenLinear(matrix.preparedForDecoding())
            }
        }
    }
}
