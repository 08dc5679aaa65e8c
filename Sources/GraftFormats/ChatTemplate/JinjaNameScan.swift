/// The variable names a block of template reads, the way Jinja's `find_undeclared` looks for
/// `varargs` and `kwargs` in a macro body to decide whether the macro accepts extra arguments.
enum JinjaNameScan {
    static func names(readIn nodes: [JinjaNode]) -> Set<String> {
        var names = Set<String>()
        for node in nodes { scan(node, &names) }
        return names
    }

    private static func scan(_ node: JinjaNode, _ names: inout Set<String>) {
        switch node {
        case .text, .loopBreak, .loopContinue:
            break
        case .output(let e):
            scan(e, &names)
        case .forLoop(let loop):
            scan(loop.iterable, &names)
            if let filter = loop.filter { scan(filter, &names) }
            for n in loop.body + loop.otherwise { scan(n, &names) }
        case let .conditional(branches, otherwise):
            for branch in branches {
                scan(branch.test, &names)
                for n in branch.body { scan(n, &names) }
            }
            for n in otherwise { scan(n, &names) }
        case let .assign(_, e, _):
            scan(e, &names)
        case let .assignBlock(_, filters, body, _):
            for f in filters { for a in f.arguments.positional + f.arguments.keyword.map(\.value) { scan(a, &names) } }
            for n in body { scan(n, &names) }
        case .generation(let body):
            for n in body { scan(n, &names) }
        case .macro(let macro):
            // A nested macro's own parameters shadow; what it reads from outside still counts.
            var inner = Set<String>()
            for p in macro.parameters { if let d = p.defaultValue { scan(d, &inner) } }
            for n in macro.body { scan(n, &inner) }
            names.formUnion(inner.subtracting(macro.parameters.map(\.name)))
        }
    }

    private static func scan(_ e: JinjaExpression, _ names: inout Set<String>) {
        if case .name(let n) = e.kind { names.insert(n) }
        for child in JinjaConstantFolding.children(e) { scan(child, &names) }
    }
}
