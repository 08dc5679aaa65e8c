/// A misuse of the tensor API: a shape that does not fit the op, an axis out of range, an argument
/// outside its domain. The description names the op and the shapes involved, so a failure deep
/// inside a model points straight at the call that caused it.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(op: String, lhs: [Int], rhs: [Int], reason: String)
    case invalidShape(op: String, shape: [Int], reason: String)
    case invalidArgument(op: String, reason: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, lhs, rhs, reason):
            return "\(op): shapes \(lhs) and \(rhs) do not fit: \(reason)"
        case let .invalidShape(op, shape, reason):
            return "\(op): shape \(shape) is invalid: \(reason)"
        case let .invalidArgument(op, reason):
            return "\(op): \(reason)"
        }
    }
}

/// Stops the program with the error's description. Ops call this for misuse that a caller can
/// only fix in code (like an index out of range); the throwing shape helpers in `Shape` let
/// callers validate first when the shapes come from input.
@inline(never)
func fail(_ error: TensorError, file: StaticString = #file, line: UInt = #line) -> Never {
    preconditionFailure(error.description, file: file, line: line)
}

@inline(__always)
func require(_ condition: Bool, _ error: @autoclosure () -> TensorError,
             file: StaticString = #file, line: UInt = #line) {
    if !condition { fail(error(), file: file, line: line) }
}
