/// Which slices Jinja evaluates at compile time. Jinja's optimizer replaces any expression made
/// only of literals by its value when that value is plain data (and `{{ … }}` output by its
/// text whatever the value), computing it with `environment.getitem`; at run time a slice is a
/// raw Python subscript instead. The two differ on values that cannot be sliced: `{{ (5)[1:] }}`
/// prints "" (folded: undefined) while `{{ x[1:] }}` with x = 5 raises TypeError. Templates slice
/// variables, so this only matters for literals, but it keeps the interpreter equal to Jinja.
enum JinjaConstantFolding {
    /// The locations of the slice expressions that Jinja folds.
    static func lenientSlices(in nodes: [JinjaNode]) -> Set<TemplateLocation> {
        var found = Set<TemplateLocation>()
        for node in nodes { visit(node, &found) }
        return found
    }

    private static func visit(_ node: JinjaNode, _ found: inout Set<TemplateLocation>) {
        switch node {
        case .text, .loopBreak, .loopContinue:
            break
        case .output(let e):
            mark(e, outputRoot: true, &found)
        case .forLoop(let loop):
            mark(loop.iterable, outputRoot: false, &found)
            if let filter = loop.filter { mark(filter, outputRoot: false, &found) }
            for n in loop.body + loop.otherwise { visit(n, &found) }
        case let .conditional(branches, otherwise):
            for branch in branches {
                mark(branch.test, outputRoot: false, &found)
                for n in branch.body { visit(n, &found) }
            }
            for n in otherwise { visit(n, &found) }
        case let .assign(_, e, _):
            mark(e, outputRoot: false, &found)
        case let .assignBlock(_, filters, body, _):
            for f in filters { markArguments(f.arguments, &found) }
            for n in body { visit(n, &found) }
        case .generation(let body):
            for n in body { visit(n, &found) }
        case .macro(let macro):
            for p in macro.parameters { if let d = p.defaultValue { mark(d, outputRoot: false, &found) } }
            for n in macro.body { visit(n, &found) }
        }
    }

    /// Top-down: the first subtree Jinja folds has all its slices folded; otherwise look deeper.
    private static func mark(_ e: JinjaExpression, outputRoot: Bool, _ found: inout Set<TemplateLocation>) {
        if let value = JinjaInterpreter.foldConstant(e), outputRoot || isPlainData(value) {
            collectSlices(e, &found)
            return
        }
        for child in children(e) { mark(child, outputRoot: false, &found) }
    }

    private static func markArguments(_ arguments: JinjaArguments, _ found: inout Set<TemplateLocation>) {
        for a in arguments.positional + arguments.keyword.map(\.value) { mark(a, outputRoot: false, &found) }
    }

    /// Jinja's `has_safe_repr`: values it can write back into generated code.
    private static func isPlainData(_ value: TemplateValue) -> Bool {
        switch value {
        case .none, .bool, .int, .double, .string: return true
        case .list(let items), .tuple(let items): return items.allSatisfy(isPlainData)
        case .dict(let d): return d.values.allSatisfy(isPlainData)
        case .undefined, .generator, .namespace, .function: return false
        }
    }

    private static func collectSlices(_ e: JinjaExpression, _ found: inout Set<TemplateLocation>) {
        if case .slice = e.kind { found.insert(e.location) }
        for child in children(e) { collectSlices(child, &found) }
    }

    static func children(_ e: JinjaExpression) -> [JinjaExpression] {
        func args(_ a: JinjaArguments) -> [JinjaExpression] { a.positional + a.keyword.map(\.value) }
        switch e.kind {
        case .constant, .name: return []
        case .list(let items), .tuple(let items), .concat(let items): return items
        case .dict(let pairs): return pairs.flatMap { [$0.key, $0.value] }
        case .attribute(let t, _), .negate(let t), .plus(let t), .not(let t): return [t]
        case let .item(t, k): return [t, k]
        case let .slice(t, start, stop, step): return [t] + [start, stop, step].compactMap { $0 }
        case let .call(callee, a): return [callee] + args(a)
        case let .filter(t, call), let .test(t, call): return [t] + args(call.arguments)
        case let .binary(_, a, b), let .and(a, b), let .or(a, b): return [a, b]
        case let .compare(first, rest): return [first] + rest.map(\.operand)
        case let .conditional(test, then, otherwise): return [test, then] + (otherwise.map { [$0] } ?? [])
        }
    }
}
