import Foundation

/// Python's operators on template values, with the error messages Python gives.
enum TemplateOperations {
    // MARK: equality and ordering

    /// Python's `==` (undefined equals undefined, as Jinja's `Undefined.__eq__` says).
    static func equal(_ a: TemplateValue, _ b: TemplateValue) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.string(x), .string(y)): return PythonString.equal(x, y)
        case let (.list(x), .list(y)), let (.tuple(x), .tuple(y)): return x.count == y.count && zip(x, y).allSatisfy(equal)
        case let (.dict(x), .dict(y)):
            return x.count == y.count && x.pairs.allSatisfy { key, value in y[key].map { equal(value, $0) } ?? false }
        case let (.namespace(x), .namespace(y)): return x === y
        case let (.generator(x), .generator(y)): return x === y
        default:
            guard let x = a.number, let y = b.number else { return false }
            return compareNumbers(x, y) == .orderedSame
        }
    }

    /// Exact comparison of an int and a float, as Python does (no rounding of large ints).
    private static func compareNumbers(_ a: TemplateValue.Number, _ b: TemplateValue.Number) -> ComparisonResult? {
        func order<T: Comparable>(_ x: T, _ y: T) -> ComparisonResult { x < y ? .orderedAscending : x > y ? .orderedDescending : .orderedSame }
        switch (a, b) {
        case let (.int(x), .int(y)): return order(x, y)
        case let (.double(x), .double(y)): return x.isNaN || y.isNaN ? nil : order(x, y)
        case let (.int(x), .double(y)): return intVersusDouble(x, y)
        case let (.double(x), .int(y)): return intVersusDouble(y, x).map { $0 == .orderedSame ? $0 : ($0 == .orderedAscending ? .orderedDescending : .orderedAscending) }
        }
    }

    private static func intVersusDouble(_ i: Int, _ d: Double) -> ComparisonResult? {
        if d.isNaN { return nil }
        if d >= 9.3e18 { return .orderedAscending }
        if d <= -9.3e18 { return .orderedDescending }
        let whole = d.rounded(.down)
        let w = Int(whole)
        if i < w { return .orderedAscending }
        if i > w { return .orderedDescending }
        return d > whole ? .orderedAscending : .orderedSame
    }

    /// Python's `<`, `<=`, `>`, `>=` on numbers, strings and lists.
    static func order(_ op: JinjaCompareOperator, _ a: TemplateValue, _ b: TemplateValue) throws(EvalError) -> Bool {
        try a.requireDefined()
        try b.requireDefined()
        guard let result = try compare(a, b, op) else { return false }   // NaN compares false
        switch op {
        case .lt: return result == .orderedAscending
        case .lteq: return result != .orderedDescending
        case .gt: return result == .orderedDescending
        default: return result != .orderedAscending
        }
    }

    private static func compare(_ a: TemplateValue, _ b: TemplateValue, _ op: JinjaCompareOperator) throws(EvalError) -> ComparisonResult? {
        switch (a, b) {
        case let (.string(x), .string(y)):
            return PythonString.equal(x, y) ? .orderedSame : PythonString.less(x, y) ? .orderedAscending : .orderedDescending
        case let (.list(x), .list(y)), let (.tuple(x), .tuple(y)):
            for (p, q) in zip(x, y) where !equal(p, q) { return try compare(p, q, op) }
            return x.count < y.count ? .orderedAscending : x.count > y.count ? .orderedDescending : .orderedSame
        default:
            if let x = a.number, let y = b.number { return compareNumbers(x, y) }
            throw .type("'\(op.rawValue)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
        }
    }

    /// Python's `item in container`.
    static func contains(_ container: TemplateValue, _ item: TemplateValue) throws(EvalError) -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let needle) = item else {
                throw .type("'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return PythonString.contains(s, needle)
        case .list(let items), .tuple(let items): return items.contains { equal($0, item) }
        case .dict(let d):
            if let unhashable = item.unhashableType { throw .type("unhashable type: '\(unhashable)'") }
            if case .string(let key) = item { return d[key] != nil }
            return false
        case .generator(let g): return try g.drain().contains { equal($0, item) }
        case .undefined: return false
        default: throw .type("argument of type '\(container.typeName)' is not iterable")
        }
    }

    // MARK: arithmetic

    static func binary(_ op: JinjaBinaryOperator, _ a: TemplateValue, _ b: TemplateValue) throws(EvalError) -> TemplateValue {
        if op == .mod, a.isString { throw .unsupported("printf-style string formatting ('…' % value)") }
        try a.requireDefined()
        try b.requireDefined()
        switch op {
        case .add:
            switch (a, b) {
            case let (.string(x), .string(y)): return .string(x + y)
            case let (.list(x), .list(y)): return .list(x + y)
            case let (.tuple(x), .tuple(y)): return .tuple(x + y)
            case (.string, _), (.list, _), (.tuple, _):
                throw .type("can only concatenate \(a.typeName) (not \"\(b.typeName)\") to \(a.typeName)")
            default: break
            }
        case .mul:
            if a.sequence != nil || a.isString || b.sequence != nil || b.isString, !(a.isIntLike || b.isIntLike) {
                let other = a.sequence != nil || a.isString ? b : a
                throw .type("can't multiply sequence by non-int of type '\(other.typeName)'")
            }
            switch (a, b) {
            case let (.string(s), n) where n.isIntLike, let (n, .string(s)) where n.isIntLike:
                return .string(String(repeating: s, count: max(0, n.intValue!)))
            case let (.list(l), n) where n.isIntLike, let (n, .list(l)) where n.isIntLike:
                return .list(repeated(l, n.intValue!))
            case let (.tuple(l), n) where n.isIntLike, let (n, .tuple(l)) where n.isIntLike:
                return .tuple(repeated(l, n.intValue!))
            default: break
            }
        default: break
        }
        guard let x = a.number, let y = b.number else {
            let symbol = op == .pow ? "** or pow()" : op.rawValue
            throw .type("unsupported operand type(s) for \(symbol): '\(a.typeName)' and '\(b.typeName)'")
        }
        return try arithmetic(op, x, y)
    }

    private static func repeated(_ l: [TemplateValue], _ n: Int) -> [TemplateValue] {
        n <= 0 ? [] : Array([[TemplateValue]](repeating: l, count: n).joined())
    }

    private static func arithmetic(_ op: JinjaBinaryOperator, _ a: TemplateValue.Number, _ b: TemplateValue.Number) throws(EvalError) -> TemplateValue {
        if case let (.int(x), .int(y)) = (a, b) { return try integerArithmetic(op, x, y) }
        let x = a.asDouble, y = b.asDouble
        switch op {
        case .add: return .double(x + y)
        case .sub: return .double(x - y)
        case .mul: return .double(x * y)
        case .div:
            guard y != 0 else { throw .type("float division by zero") }
            return .double(x / y)
        case .floorDiv:
            guard y != 0 else { throw .type("float floor division by zero") }
            return .double(floatDivMod(x, y).quotient)
        case .mod:
            guard y != 0 else { throw .type("float modulo") }
            return .double(floatDivMod(x, y).remainder)
        case .pow:
            if x == 0, y < 0 { throw .type("0.0 cannot be raised to a negative power") }
            if x < 0, y != y.rounded() { throw .unsupported("a negative number raised to a fractional power (a complex number)") }
            return .double(Foundation.pow(x, y))
        }
    }

    /// CPython's `float_divmod`.
    private static func floatDivMod(_ vx: Double, _ wx: Double) -> (quotient: Double, remainder: Double) {
        var mod = fmod(vx, wx)
        var div = (vx - mod) / wx
        if mod != 0 {
            if (wx < 0) != (mod < 0) { mod += wx; div -= 1 }
        } else {
            mod = copysign(0, wx)
        }
        var floorDiv: Double
        if div != 0 {
            floorDiv = div.rounded(.down)
            if div - floorDiv > 0.5 { floorDiv += 1 }
        } else {
            floorDiv = copysign(0, vx / wx)
        }
        return (floorDiv, mod)
    }

    private static func integerArithmetic(_ op: JinjaBinaryOperator, _ x: Int, _ y: Int) throws(EvalError) -> TemplateValue {
        func checked(_ r: (partialValue: Int, overflow: Bool)) throws(EvalError) -> TemplateValue {
            guard !r.overflow else { throw .unsupported("integers beyond 64 bits") }
            return .int(r.partialValue)
        }
        switch op {
        case .add: return try checked(x.addingReportingOverflow(y))
        case .sub: return try checked(x.subtractingReportingOverflow(y))
        case .mul: return try checked(x.multipliedReportingOverflow(by: y))
        case .div:
            guard y != 0 else { throw .type("division by zero") }
            return .double(Double(x) / Double(y))
        case .floorDiv, .mod:
            guard y != 0 else { throw .type(op == .mod ? "integer modulo by zero" : "integer division or modulo by zero") }
            var q = x / y, r = x % y
            if r != 0, (r < 0) != (y < 0) { q -= 1; r += y }
            return .int(op == .mod ? r : q)
        case .pow:
            if y < 0 {
                guard x != 0 else { throw .type("0.0 cannot be raised to a negative power") }
                return .double(Foundation.pow(Double(x), Double(y)))
            }
            var result = 1, base = x, e = y
            while e > 0 {
                if e & 1 == 1 { result = try checked(result.multipliedReportingOverflow(by: base)).intValue! }
                e >>= 1
                if e > 0 { base = try checked(base.multipliedReportingOverflow(by: base)).intValue! }
            }
            return .int(result)
        }
    }

    static func negate(_ v: TemplateValue) throws(EvalError) -> TemplateValue {
        try v.requireDefined()
        switch v.number {
        case .int(let i)?:
            guard i != Int.min else { throw .unsupported("integers beyond 64 bits") }
            return .int(-i)
        case .double(let d)?: return .double(-d)
        case nil: throw .type("bad operand type for unary -: '\(v.typeName)'")
        }
    }

    static func plus(_ v: TemplateValue) throws(EvalError) -> TemplateValue {
        try v.requireDefined()
        switch v.number {
        case .int(let i)?: return .int(i)
        case .double(let d)?: return .double(d)
        case nil: throw .type("bad operand type for unary +: '\(v.typeName)'")
        }
    }
}

extension TemplateValue {
    /// An int or bool (Python's `int` subclasses), as sequence repetition and indexing accept.
    var isIntLike: Bool {
        switch self {
        case .int, .bool: return true
        default: return false
        }
    }

    var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
}
