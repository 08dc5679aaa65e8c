/// Evaluated arguments of a call, filter or test, bound to parameters the way Python binds them.
struct CallArguments {
    var positional: [TemplateValue] = []
    var keyword: [(name: String, value: TemplateValue)] = []

    var isEmpty: Bool { positional.isEmpty && keyword.isEmpty }

    /// Binds the arguments to `parameters` in order: positional first, then by keyword. The first
    /// `required` parameters must be given; the others are nil when absent.
    func bind(_ function: String, _ parameters: [String], required: Int = 0) throws(EvalError) -> [TemplateValue?] {
        guard positional.count <= parameters.count else {
            throw .type("\(function)() takes at most \(parameters.count) argument\(parameters.count == 1 ? "" : "s") (\(positional.count) given)")
        }
        var bound: [TemplateValue?] = positional + Array(repeating: nil, count: parameters.count - positional.count)
        for (name, value) in keyword {
            guard let i = parameters.firstIndex(of: name) else {
                throw .type("\(function)() got an unexpected keyword argument '\(name)'")
            }
            guard bound[i] == nil else { throw .type("\(function)() got multiple values for argument '\(name)'") }
            bound[i] = value
        }
        for i in 0..<required where bound[i] == nil {
            throw .type("\(function)() missing required argument '\(parameters[i])'")
        }
        return bound
    }

    /// Fails unless the call has no arguments.
    func none(_ function: String) throws(EvalError) {
        _ = try bind(function, [])
    }
}

extension Optional where Wrapped == TemplateValue {
    /// An optional argument that Python's `None` also leaves at its default.
    var orNone: TemplateValue? {
        if case .none? = self { return nil }
        return self
    }
}
