/// Ways to make a new tensor.
extension Tensor {
    public static func full(_ shape: [Int], value: Float, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        t.basePointer.update(repeating: value, count: t.count)
        t.leafRequiresGrad = requiresGrad
        return t
    }

    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        full(shape, value: 0, requiresGrad: requiresGrad)
    }

    public static func ones(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        full(shape, value: 1, requiresGrad: requiresGrad)
    }

    /// Standard normal values times `std`.
    public static func randn(_ shape: [Int], std: Float = 1, generator: inout RandomGenerator,
                             requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        for i in 0..<t.count { t.basePointer[i] = generator.nextNormal() * std }
        t.leafRequiresGrad = requiresGrad
        return t
    }

    /// Uniform values in [low, high).
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, generator: inout RandomGenerator,
                               requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        for i in 0..<t.count { t.basePointer[i] = low + (high - low) * generator.nextUniform() }
        t.leafRequiresGrad = requiresGrad
        return t
    }
}
