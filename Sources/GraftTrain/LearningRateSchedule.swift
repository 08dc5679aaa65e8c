import Foundation

/// The learning rate of each optimizer step, as Hugging Face's `get_{constant,linear,cosine}_
/// schedule_with_warmup` compute it: a linear ramp from 0 over `warmup` steps, then constant,
/// linear decay, or half a cosine, down to `minRatio · peak` at `totalSteps`.
public struct LearningRateSchedule: Sendable, Equatable {
    public enum Shape: String, Sendable { case constant, linear, cosine }

    public var shape: Shape
    public var peak: Float
    public var warmup: Int
    public var totalSteps: Int
    public var minRatio: Float

    public init(shape: Shape, peak: Float, warmup: Int, totalSteps: Int, minRatio: Float = 0) {
        self.shape = shape
        self.peak = peak
        self.warmup = warmup
        self.totalSteps = totalSteps
        self.minRatio = minRatio
    }

    /// The rate for optimizer step `step` (0-based: the first update uses `rate(0)`).
    public func rate(_ step: Int) -> Float {
        if step < warmup { return peak * Float(step) / Float(max(1, warmup)) }
        let decaySteps = Double(max(1, totalSteps - warmup))
        let progress = Double(step - warmup) / decaySteps
        let factor: Double
        switch shape {
        case .constant: return peak
        case .linear: factor = max(0, Double(totalSteps - step) / decaySteps)
        case .cosine: factor = max(0, 0.5 * (1 + cos(Double.pi * progress)))
        }
        return peak * Float(Double(minRatio) + (1 - Double(minRatio)) * factor)
    }
}
